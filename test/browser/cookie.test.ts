import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, claimsOf, freshIp, harness, startSession, T0 } from '../helpers/harness'
import type { Harness } from '../helpers/harness'
import { cookie, failingWrites, onlySetCookie, setCookies } from './support'

const IDLE = 1800

describe('session cookie', () => {
  it('is __Host-session, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, Max-Age to exp', async () => {
    const h = harness()
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip: freshIp() })
    const body = await response.json<{ token: string }>()
    const set = onlySetCookie(response)
    expect(set.name).toBe('__Host-session')
    expect(set.value).toBe(body.token)
    expect([...set.attributes.keys()].sort()).toEqual(
      ['httponly', 'max-age', 'path', 'samesite', 'secure'].sort()
    )
    expect(set.attributes.get('path')).toBe('/')
    expect(set.attributes.get('samesite')).toBe('Lax')
    expect(Number(set.attributes.get('max-age'))).toBe((claimsOf(body.token).exp as number) - T0)
  })

  it('lives only as long as the token: Max-Age stops at the absolute deadline', async () => {
    const h = harness({ MAX_AGE_SECONDS: '2000' })
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 1000
    const response = await h.fetch('/v1/session', { ip, headers: cookie(started.token) })
    expect(response.status).toBe(200)
    const set = onlySetCookie(response)
    expect(set.attributes.get('max-age')).toBe('1000')
    expect(claimsOf(set.value).exp).toBe(T0 + 2000)
  })

  it('takes its name from COOKIE_NAME, and then ignores the default name', async () => {
    const h = harness({ COOKIE_NAME: '__Host-sid', IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const started = await h.fetch('/v1/sessions', { method: 'POST', ip })
    const set = onlySetCookie(started)
    expect(set.name).toBe('__Host-sid')
    const byName = await h.fetch('/v1/session', { ip, headers: cookie(set.value, '__Host-sid') })
    expect(byName.status).toBe(200)
    const byDefault = await h.fetch('/v1/session', { ip, headers: cookie(set.value) })
    expect(byDefault.status).toBe(401)
    expect(await byDefault.json()).toMatchObject({ code: 'token_missing' })
  })

  it.each(['session', '__Secure-session', '__host-session'])(
    'refuses COOKIE_NAME %s, which lacks the __Host- prefix',
    async (name) => {
      const h = harness({ COOKIE_NAME: name })
      const response = await h.fetch('/v1/sessions', { method: 'POST', ip: freshIp() })
      expect(response.status).toBe(500)
      expect(await response.json()).toMatchObject({ code: 'configuration_error' })
      expect(response.headers.getAll('Set-Cookie')).toEqual([])
    }
  )
})

describe('cookie renewal', () => {
  it('renews the cookie with every fresh token, equal to the Session-Token header', async () => {
    const h = harness()
    const ip = freshIp()
    let token = (await startSession(h, ip)).token
    for (const step of [60, 600, 1700]) {
      h.now += step
      const response = await h.fetch('/v1/session', { ip, headers: cookie(token) })
      const set = onlySetCookie(response)
      expect(set.value).not.toBe(token)
      expect(set.value).toBe(response.headers.get('Session-Token'))
      expect(set.attributes.get('max-age')).toBe(String(IDLE))
      expect(claimsOf(set.value).exp).toBe(h.now + IDLE)
      token = set.value
    }
  })

  it('leaves the cookie alone while REFRESH_AFTER_SECONDS keeps the token', async () => {
    const h = harness({ REFRESH_AFTER_SECONDS: '300' })
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 299
    const early = await h.fetch('/v1/session', { ip, headers: cookie(started.token) })
    expect(early.status).toBe(200)
    expect(early.headers.getAll('Set-Cookie')).toEqual([])
    expect(early.headers.get('Session-Token')).toBe(started.token)
    h.now = T0 + 300
    const due = await h.fetch('/v1/session', { ip, headers: cookie(started.token) })
    const set = onlySetCookie(due)
    expect(set.value).not.toBe(started.token)
    expect(set.attributes.get('max-age')).toBe(String(IDLE))
  })

  it('gives the cookie back to a browser that lost it, when the IP resumes its session', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now += 5
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip })
    expect(response.status).toBe(200)
    const set = onlySetCookie(response)
    expect(claimsOf(set.value).sub).toBe(started.session.id)
  })

  it('sends no cookie with a refusal', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + IDLE
    const response = await h.fetch('/v1/session', { ip, headers: cookie(started.token) })
    expect(response.status).toBe(401)
    expect(response.headers.getAll('Set-Cookie')).toEqual([])
    expect(response.headers.get('Session-Token')).toBeNull()
  })
})

describe('ending clears the cookie', () => {
  it('expires the cookie with the same attributes and sends Clear-Site-Data', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    const response = await h.fetch('/v1/session', {
      method: 'DELETE',
      ip,
      headers: cookie(started.token),
    })
    expect(response.status).toBe(204)
    expect(await response.text()).toBe('')
    const [set, ...more] = setCookies(response)
    expect(more).toEqual([])
    expect(set).toMatchObject({ name: '__Host-session', value: '' })
    expect(Object.fromEntries(set!.attributes)).toEqual({
      'max-age': '0',
      path: '/',
      httponly: '',
      secure: '',
      samesite: 'Lax',
    })
    expect(response.headers.get('Clear-Site-Data')).toBe('"cookies"')
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(response.headers.get('Session-Token')).toBeNull()
    const after = await h.fetch('/v1/session', { ip, headers: cookie(started.token) })
    expect(await after.json()).toMatchObject({ code: 'session_revoked' })
  })

  it('clears the cookie of the configured name', async () => {
    const h = harness({ COOKIE_NAME: '__Host-sid' })
    const ip = freshIp()
    const started = await startSession(h, ip)
    const response = await h.fetch('/v1/session', {
      method: 'DELETE',
      ip,
      headers: cookie(started.token, '__Host-sid'),
    })
    expect(onlySetCookie(response)).toMatchObject({ name: '__Host-sid', value: '' })
  })

  it('keeps the cookie when the end could not be recorded (503): nothing claims it ended', async () => {
    const h = harness({ REVOCATIONS: failingWrites(env.REVOCATIONS) })
    const ip = freshIp()
    const started = await startSession(h, ip)
    const response = await h.fetch('/v1/session', {
      method: 'DELETE',
      ip,
      headers: cookie(started.token),
    })
    expect(response.status).toBe(503)
    expect(response.headers.getAll('Set-Cookie')).toEqual([])
    expect(response.headers.get('Clear-Site-Data')).toBeNull()
    expect(response.headers.get('Cache-Control')).toBe('no-store')
  })
})

describe('Cache-Control: no-store on every response that carries session state', () => {
  const cases: [string, (h: Harness) => Promise<Response>, number][] = [
    ['a new session', (h) => h.fetch('/v1/sessions', { method: 'POST', ip: freshIp() }), 201],
    ['a resumed session', (h) => resumed(h), 200],
    ['a slid session', (h) => withSession(h, (ip, t) => h.fetch('/v1/session', { ip, ...t })), 200],
    [
      'session data',
      (h) => withSession(h, (ip, t) => h.fetch('/v1/session/data', { ip, ...t })),
      200,
    ],
    ['a data update', (h) => withSession(h, (ip, t) => putData(h, ip, t, '"1"')), 200],
    [
      'an end',
      (h) => withSession(h, (ip, t) => h.fetch('/v1/session', { method: 'DELETE', ip, ...t })),
      204,
    ],
    [
      'token_missing',
      () => harness({ IDENTIFY_BY: 'token' }).fetch('/v1/session', { ip: freshIp() }),
      401,
    ],
    [
      'token_invalid',
      (h) => h.fetch('/v1/session', { ip: freshIp(), headers: cookie('x.y.z') }),
      401,
    ],
    ['session_not_found', (h) => h.fetch('/v1/session', { ip: freshIp() }), 401],
    ['session_expired', (h) => expired(h), 401],
    ['precondition_failed', (h) => withSession(h, (ip, t) => putData(h, ip, t, '"9"')), 412],
    ['precondition_required', (h) => withSession(h, (ip, t) => putData(h, ip, t, undefined)), 428],
    ['origin_rejected', (h) => withSession(h, (ip, t) => foreignDelete(h, ip, t)), 403],
    ['client_ip_missing', (h) => h.fetch('/v1/sessions', { method: 'POST', ip: null }), 400],
  ]

  it.each(cases)('on %s', async (_, run, status) => {
    const response = await run(harness())
    expect(response.status).toBe(status)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
  })
})

type Credential = { headers: Record<string, string> }

async function withSession(
  h: Harness,
  run: (ip: string, credential: Credential) => Promise<Response>
): Promise<Response> {
  const ip = freshIp()
  const { token } = await startSession(h, ip)
  return run(ip, { headers: cookie(token) })
}

async function resumed(h: Harness): Promise<Response> {
  const ip = freshIp()
  await startSession(h, ip)
  return h.fetch('/v1/sessions', { method: 'POST', ip })
}

async function expired(h: Harness): Promise<Response> {
  const ip = freshIp()
  const { token } = await startSession(h, ip)
  h.now += IDLE
  return h.fetch('/v1/session', { ip, headers: bearer(token) })
}

function putData(
  h: Harness,
  ip: string,
  credential: Credential,
  ifMatch: string | undefined
): Promise<Response> {
  const headers: Record<string, string> = {
    ...credential.headers,
    'Content-Type': 'application/json',
  }
  if (ifMatch !== undefined) {
    headers['If-Match'] = ifMatch
  }
  return h.fetch('/v1/session/data', { method: 'PUT', ip, headers, body: '{"theme":"dark"}' })
}

function foreignDelete(h: Harness, ip: string, credential: Credential): Promise<Response> {
  const headers = { ...credential.headers, Origin: 'https://elsewhere.example' }
  return h.fetch('/v1/session', { method: 'DELETE', ip, headers })
}
