import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { PAGE_SCRIPT } from '../../src/page/script'
import { PAGE_ICON, PAGE_STYLE } from '../../src/page/style'
import { freshIp, harness, startSession } from '../helpers/harness'
import { cookie, failingAll } from './support'

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

function cspOf(response: Response): Map<string, string> {
  const policy = response.headers.get('Content-Security-Policy') ?? ''
  return new Map(
    policy.split(';').map((directive) => {
      const [name, ...sources] = directive.trim().split(/\s+/)
      return [name!, sources.join(' ')]
    })
  )
}

describe('GET /', () => {
  it('renders without a session and without touching storage', async () => {
    const h = harness({ DB: failingAll(env.DB), REVOCATIONS: failingAll(env.REVOCATIONS) })
    const response = await h.fetch('/')
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe('text/html; charset=UTF-8')
    const html = await response.text()
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true)
    expect(html).toContain('<script src="/page.js" defer=""></script>')
    expect(html).toContain('<link rel="stylesheet" href="/page.css"/>')
    expect(response.headers.getAll('Set-Cookie')).toEqual([])
  })

  it('is never stored by a cache', async () => {
    const response = await harness().fetch('/')
    expect(response.headers.get('Cache-Control')).toBe('no-store')
  })

  it('has a CSP that allows only our own script, style and origin, nothing inline', async () => {
    const response = await harness().fetch('/')
    expect(response.headers.get('Content-Security-Policy')).toBe(CSP)
    const csp = cspOf(response)
    expect(csp.get('script-src')).toBe("'self'")
    expect(csp.get('style-src')).toBe("'self'")
    expect(csp.get('default-src')).toBe("'none'")
    expect(response.headers.get('Content-Security-Policy')).not.toMatch(/unsafe|\*|data:/)
  })

  it('carries no inline script, style or event handler for the CSP to block', async () => {
    const html = await (await harness().fetch('/')).text()
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script src="/page.js" defer="">'])
    expect(html).toMatch(/<script [^>]*><\/script>/)
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|javascript:/i)
  })

  it('sends hono secure headers; the referrer policy keeps Origin on its own writes', async () => {
    const response = await harness().fetch('/')
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'strict-transport-security': 'max-age=15552000; includeSubDomains',
    })
  })

  it('never shows the token, the session id or the address, even to a client with a session', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    const response = await h.fetch('/', { ip, headers: cookie(started.token) })
    const html = await response.text()
    expect(html).not.toContain(started.token)
    expect(html).not.toContain(started.token.split('.')[1]!)
    expect(html).not.toContain(started.session.id.slice(0, 8))
    expect(html).not.toContain(ip)
    expect(response.headers.get('Session-Token')).toBeNull()
    expect(response.headers.getAll('Set-Cookie')).toEqual([])
  })

  it.each([
    [{ IDENTIFY_BY: 'ip', IP_BINDING: 'strict' }, 'ip', 'strict', 'your IP address', 'yes'],
    [{ IDENTIFY_BY: 'token', IP_BINDING: 'off' }, 'token', 'off', 'its token', 'no'],
  ])(
    'states what the server knows of the client: %o',
    async (settings, mode, binding, by, bound) => {
      const html = await (await harness(settings).fetch('/')).text()
      expect(html).toContain(`<dd id="identify-by" data-mode="${mode}">${by}`)
      expect(html).toContain(`<dd id="ip-binding" data-binding="${binding}">${bound}:`)
    }
  )

  it.each([
    ['false', 'kept only as a keyed hash'],
    ['true', 'stored with the session'],
  ])('says how the address is kept when STORE_CLIENT_IP=%s', async (store, text) => {
    const html = await (await harness({ STORE_CLIENT_IP: store }).fetch('/')).text()
    expect(html).toContain(`<dd id="address-kept">${text}`)
  })

  it('states the idle timeout it was configured with', async () => {
    const html = await (await harness({ IDLE_TIMEOUT_SECONDS: '900' }).fetch('/')).text()
    expect(html).toContain('A session ends 15 minutes after its last request')
  })

  it('labels every control and has a live status region', async () => {
    const html = await (await harness().fetch('/')).text()
    expect(html).toContain('<p id="status" role="status" aria-live="polite">')
    for (const [id, label] of [
      ['use-session', 'Use session'],
      ['end-session', 'End session'],
      ['start-session', 'Start a new session'],
    ]) {
      expect(html).toMatch(new RegExp(`<button type="button" id="${id}"[^>]*>${label}</button>`))
    }
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>')
  })

  it('answers a bad setting with the usual 500 problem', async () => {
    const response = await harness({ IDENTIFY_BY: 'everyone' }).fetch('/')
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ code: 'configuration_error' })
  })

  it.each(['POST', 'PUT', 'DELETE'])('answers %s / with 405', async (method) => {
    const response = await harness().fetch('/', { method })
    expect(response.status).toBe(405)
    expect(await response.json()).toMatchObject({ code: 'method_not_allowed' })
  })
})

describe('page assets', () => {
  it.each([
    ['/page.js', 'text/javascript; charset=utf-8', PAGE_SCRIPT],
    ['/page.css', 'text/css; charset=utf-8', PAGE_STYLE],
    ['/page.svg', 'image/svg+xml; charset=utf-8', PAGE_ICON],
  ])('serves %s with its type, nosniff, and an ETag to revalidate', async (path, type, text) => {
    const h = harness()
    const response = await h.fetch(path)
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toBe(type)
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(response.headers.get('Cache-Control')).toBe('no-cache')
    expect(await response.text()).toBe(text)
    const etag = response.headers.get('ETag')
    expect(etag).toMatch(/^"[^"]+"$/)
    const again = await h.fetch(path, { headers: { 'If-None-Match': etag! } })
    expect(again.status).toBe(304)
  })
})

describe('page script', () => {
  it('calls the public session endpoints with the cookie, same-origin only', () => {
    expect(PAGE_SCRIPT).toContain("credentials: 'same-origin'")
    expect(PAGE_SCRIPT).toContain("call('POST', '/v1/sessions')")
    expect(PAGE_SCRIPT).toContain("call('GET', '/v1/session')")
    expect(PAGE_SCRIPT).toContain("call('DELETE', '/v1/session')")
  })

  it('never touches the token or the cookie jar', () => {
    expect(PAGE_SCRIPT).not.toMatch(/token|document\.cookie|localStorage|sessionStorage/i)
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML|insertAdjacentHTML|eval\(|new Function/)
  })
})
