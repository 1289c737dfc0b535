import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, claimsOf, freshIp, harness, startSession, T0 } from '../helpers/harness'

const IDLE = 1800

async function row(id: string) {
  return env.DB.prepare('SELECT * FROM sessions WHERE id = ?1')
    .bind(id)
    .first<Record<string, unknown>>()
}

describe('POST /v1/sessions', () => {
  it('creates a session: 201, JSON body, cookie, token header, no-store', async () => {
    const h = harness()
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip: freshIp() })
    expect(response.status).toBe(201)
    const body = await response.json<Record<string, any>>()
    expect(body.session.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(body.session.createdAt).toBe(new Date(T0 * 1000).toISOString())
    expect(body.session.expiresAt).toBe(new Date((T0 + IDLE) * 1000).toISOString())
    expect(body.tokenExpiresAt).toBe(body.session.expiresAt)
    expect(response.headers.get('Session-Token')).toBe(body.token)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const cookie = response.headers.get('Set-Cookie') ?? ''
    expect(cookie).toContain(`__Host-session=${body.token}`)
    expect(cookie).toMatch(/; Secure/)
    expect(cookie).toMatch(/; HttpOnly/)
    expect(cookie).toMatch(/; SameSite=Lax/)
    expect(cookie).toMatch(/; Path=\//)
    expect(cookie).not.toMatch(/Domain=/i)
    expect(cookie).toContain(`Max-Age=${IDLE}`)
  })

  it('stores the session with a keyed client hash, never the raw IP', async () => {
    const h = harness()
    const ip = freshIp()
    const { session } = await startSession(h, ip)
    const stored = await row(session.id)
    expect(stored).toMatchObject({ created_at: T0, idle_expires_at: T0 + IDLE, revoked_at: null })
    expect(stored!.client_ip).toBeNull()
    expect(JSON.stringify(stored)).not.toContain(ip)
    expect(String(stored!.client_key_hash)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('resumes the live session of the same IP with 200', async () => {
    const h = harness()
    const ip = freshIp()
    const first = await startSession(h, ip)
    h.now += 60
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip })
    expect(response.status).toBe(200)
    const second = await response.json<{ session: { id: string; expiresAt: string } }>()
    expect(second.session.id).toBe(first.session.id)
    expect(second.session.expiresAt).toBe(new Date((T0 + 60 + IDLE) * 1000).toISOString())
  })

  it('gives a second IP a different session', async () => {
    const h = harness()
    const a = await startSession(h, freshIp())
    const b = await startSession(h, freshIp())
    expect(b.session.id).not.toBe(a.session.id)
  })

  it('returns the session of a live token presented on start', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const first = await startSession(h, ip)
    const response = await h.fetch('/v1/sessions', {
      method: 'POST',
      ip,
      headers: bearer(first.token),
    })
    expect(response.status).toBe(200)
    expect((await response.json<{ session: { id: string } }>()).session.id).toBe(first.session.id)
  })
})

describe('GET /v1/session', () => {
  it('slides the idle deadline in D1 and returns a fresh token whose exp is that deadline', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 600
    const response = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(response.status).toBe(200)
    const body = await response.json<{ token: string; session: { expiresAt: string } }>()
    expect(body.token).not.toBe(started.token)
    expect(claimsOf(body.token)).toMatchObject({
      exp: T0 + 600 + IDLE,
      iat: T0 + 600,
      sub: started.session.id,
    })
    expect(response.headers.get('Session-Token')).toBe(body.token)
    expect(response.headers.get('Set-Cookie')).toContain(body.token)
    expect(await row(started.session.id)).toMatchObject({
      idle_expires_at: T0 + 600 + IDLE,
      last_seen_at: T0 + 600,
    })
  })

  it('accepts the session cookie as the credential', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    const response = await h.fetch('/v1/session', {
      ip,
      headers: { Cookie: `__Host-session=${started.token}` },
    })
    expect(response.status).toBe(200)
  })

  it('keeps a session alive 1799 s after its last request', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + IDLE - 1
    const response = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(response.status).toBe(200)
  })

  it('expires a session exactly 1800 s after its last request', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + IDLE
    const response = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(response.status).toBe(401)
    expect(response.headers.get('Content-Type')).toBe('application/problem+json')
    expect(response.headers.get('WWW-Authenticate')).toContain('error="invalid_token"')
    expect(await response.json()).toMatchObject({ code: 'session_expired', status: 401 })
  })

  it('measures the idle timeout from the last request, not from creation', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 1000
    const slid = await (
      await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    ).json<{ token: string }>()
    h.now = T0 + 1000 + IDLE - 1
    expect((await h.fetch('/v1/session', { ip, headers: bearer(slid.token) })).status).toBe(200)
  })

  it('serves an older token past its exp while D1 shows the session alive', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 1000
    expect((await h.fetch('/v1/session', { ip, headers: bearer(started.token) })).status).toBe(200)
    h.now = T0 + IDLE + 5
    const response = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(response.status).toBe(200)
    const body = await response.json<{ token: string }>()
    expect(claimsOf(body.token).exp).toBe(T0 + IDLE + 5 + IDLE)
  })

  it('refuses a tampered token with token_invalid', async () => {
    const h = harness()
    const ip = freshIp()
    const { token } = await startSession(h, ip)
    const [header, payload, signature] = token.split('.')
    const claims = claimsOf(token)
    const forged = btoa(JSON.stringify({ ...claims, max_exp: (claims.max_exp as number) + 9999 }))
      .replaceAll('=', '')
      .replaceAll('+', '-')
      .replaceAll('/', '_')
    for (const bad of [
      `${header}.${forged}.${signature}`,
      `${header}.${payload}.${signature!.slice(0, -2)}AA`,
    ]) {
      const response = await h.fetch('/v1/session', { ip, headers: bearer(bad) })
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ code: 'token_invalid' })
    }
  })

  it('answers token_missing without a token in identity mode token', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const response = await h.fetch('/v1/session', { ip: freshIp() })
    expect(response.status).toBe(401)
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="edge-sessions"')
    expect(await response.json()).toMatchObject({ code: 'token_missing' })
  })
})

describe('DELETE /v1/session', () => {
  it('ends the session: 204, cookie cleared, D1 revoked, KV listed, every token refused', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now += 10
    const other = await (
      await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    ).json<{ token: string }>()
    const response = await h.fetch('/v1/session', {
      method: 'DELETE',
      ip,
      headers: bearer(started.token),
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('Set-Cookie')).toMatch(/^__Host-session=; Max-Age=0/)
    expect(response.headers.get('Clear-Site-Data')).toBe('"cookies"')
    expect(await row(started.session.id)).toMatchObject({ revoked_at: T0 + 10 })
    const listed = await env.REVOCATIONS.getWithMetadata(`revoked:${started.session.id}`)
    expect(listed.value).not.toBeNull()
    for (const token of [started.token, other.token]) {
      const refused = await h.fetch('/v1/session', { ip, headers: bearer(token) })
      expect(refused.status).toBe(401)
      expect(await refused.json()).toMatchObject({ code: 'session_revoked' })
    }
  })

  it('makes the next start from that IP a new session', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    await h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(started.token) })
    const again = await startSession(h, ip)
    expect(again.session.id).not.toBe(started.session.id)
  })
})

describe('client address', () => {
  it.each([
    ['missing', null, 'client_ip_missing'],
    ['not an address', 'not-an-ip', 'client_ip_invalid'],
    ['a list', '203.0.113.1, 203.0.113.2', 'client_ip_invalid'],
  ])('answers 400 when CF-Connecting-IP is %s', async (_, ip, code) => {
    const h = harness()
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ code })
  })
})

describe('GET /healthz', () => {
  it('answers 200 without storage, even when the bindings are gone', async () => {
    const h = harness({ DB: undefined as never, REVOCATIONS: undefined as never })
    const response = await h.fetch('/healthz')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })
})
