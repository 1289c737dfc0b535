import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bearer, freshIp, harness, startSession } from '../helpers/harness'
import { newId } from './seed'

const TOKEN = env.ADMIN_TOKEN!

/** The last character of the token, swapped for another. */
const LAST_CHAR_CHANGED = TOKEN.slice(0, -1) + (TOKEN.endsWith('f') ? 'e' : 'f')

const ENDPOINTS: Array<[string, string]> = [
  ['GET', '/v1/admin/sessions'],
  ['GET', `/v1/admin/sessions/${newId()}`],
  ['DELETE', `/v1/admin/sessions/${newId()}`],
  ['DELETE', '/v1/admin/clients/203.0.113.9/sessions'],
]

afterEach(() => {
  vi.restoreAllMocks()
})

describe('admin token', () => {
  it('accepts the configured token: 200 with Cache-Control no-store', async () => {
    const h = harness()
    const response = await h.fetch('/v1/admin/sessions', { headers: bearer(TOKEN) })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
  })

  it('takes the Bearer scheme in any case (RFC 9110 §11.1)', async () => {
    const h = harness()
    const response = await h.fetch('/v1/admin/sessions', {
      headers: { Authorization: `bEARER ${TOKEN}` },
    })
    expect(response.status).toBe(200)
  })

  it.each([
    ['no Authorization header', undefined],
    ['an empty Bearer', 'Bearer '],
    ['the Basic scheme', `Basic ${btoa(`admin:${TOKEN}`)}`],
    ['the token without a scheme', TOKEN],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
  ])('answers 401 admin_unauthorized with %s', async (_, authorization) => {
    const h = harness()
    const headers = authorization === undefined ? undefined : { Authorization: authorization }
    const response = await h.fetch('/v1/admin/sessions', { headers })
    expect(response.status).toBe(401)
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="edge-sessions-admin"')
    expect(response.headers.get('Content-Type')).toBe('application/problem+json')
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(await response.json()).toMatchObject({ code: 'admin_unauthorized', status: 401 })
  })

  it.each([
    ['another token', 'some-other-token-of-any-length'],
    ['the same length, last character changed', LAST_CHAR_CHANGED],
    ['the same length, first character changed', `X${TOKEN.slice(1)}`],
    ['a proper prefix', TOKEN.slice(0, -1)],
    ['the token and one more character', `${TOKEN}0`],
    ['the token in another case', TOKEN.toUpperCase()],
  ])('answers 403 admin_forbidden for %s', async (_, token) => {
    const h = harness()
    const response = await h.fetch('/v1/admin/sessions', { headers: bearer(token) })
    expect(response.status).toBe(403)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(await response.json()).toMatchObject({ code: 'admin_forbidden', status: 403 })
  })

  it('does not take a session token as an admin token', async () => {
    const h = harness()
    const ip = freshIp()
    const session = await startSession(h, ip)
    const asBearer = await h.fetch('/v1/admin/sessions', { ip, headers: bearer(session.token) })
    expect(asBearer.status).toBe(403)
    const asCookie = await h.fetch('/v1/admin/sessions', {
      ip,
      headers: { Cookie: `__Host-session=${session.token}` },
    })
    expect(asCookie.status).toBe(401)
  })

  it.each(ENDPOINTS)('guards %s %s', async (method, path) => {
    const h = harness()
    expect((await h.fetch(path, { method })).status).toBe(401)
    expect((await h.fetch(path, { method, headers: bearer(LAST_CHAR_CHANGED) })).status).toBe(403)
  })

  it('answers 405 for a method an admin route does not take', async () => {
    const h = harness()
    for (const [method, path] of [
      ['POST', '/v1/admin/sessions'],
      ['PUT', `/v1/admin/sessions/${newId()}`],
      ['GET', '/v1/admin/clients/203.0.113.9/sessions'],
    ] as const) {
      const response = await h.fetch(path, { method, headers: bearer(TOKEN) })
      expect(response.status).toBe(405)
      expect(await response.json()).toMatchObject({ code: 'method_not_allowed' })
    }
  })
})

describe('admin API without ADMIN_TOKEN', () => {
  it.each(ENDPOINTS)('%s %s answers 404 exactly like an unknown route', async (method, path) => {
    const h = harness({ ADMIN_TOKEN: undefined })
    const unknownPath = path.replace('/v1/admin/', '/v1/nothing-here/')
    for (const headers of [undefined, bearer(TOKEN), bearer('x')]) {
      const admin = await h.fetch(path, { method, headers })
      const unknown = await h.fetch(unknownPath, { method, headers })
      expect(admin.status).toBe(404)
      expect([...admin.headers]).toEqual([...unknown.headers])
      const adminBody = await admin.json<Record<string, unknown>>()
      const unknownBody = await unknown.json<Record<string, unknown>>()
      expect(adminBody).toEqual(unknownBody)
      expect(adminBody.code).toBe('not_found')
    }
  })

  it('answers 404 for an empty ADMIN_TOKEN too', async () => {
    const h = harness({ ADMIN_TOKEN: '' })
    const response = await h.fetch('/v1/admin/sessions', { headers: bearer('') })
    expect(response.status).toBe(404)
  })
})

describe('Security: the admin token never leaves the server', () => {
  it('appears in no response and no log line, right or wrong', async () => {
    const lines: string[] = []
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '))
      })
    }
    const h = harness()
    const ip = freshIp()
    const session = await startSession(h, ip)
    const guesses = [TOKEN, LAST_CHAR_CHANGED, TOKEN.slice(0, 20), `${TOKEN}x`]
    const texts: string[] = []
    for (const token of guesses) {
      for (const [method, path] of [
        ...ENDPOINTS,
        ['DELETE', `/v1/admin/sessions/${session.session.id}`],
        ['GET', '/v1/admin/sessions?limit=0'],
        ['GET', '/v1/admin/sessions?cursor=%%%'],
        ['DELETE', '/v1/admin/clients/not-an-ip/sessions'],
      ]) {
        const response = await h.fetch(path!, { method, headers: bearer(token) })
        texts.push(JSON.stringify([...response.headers]), await response.text())
      }
    }
    expect(lines.length).toBeGreaterThan(0)
    for (const text of [...texts, ...lines]) {
      for (const token of guesses) {
        expect(text).not.toContain(token)
      }
    }
  })
})
