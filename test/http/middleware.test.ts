import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { edgeSessions, sessionErrors, type SessionEnv } from '../../src/middleware'
import { bearer, claimsOf, freshIp, harness, startSession, T0 } from '../helpers/harness'

/** A developer's own app with the session middleware on /api/*, over the harness's env. */
function developerApp(h: ReturnType<typeof harness>) {
  const app = new Hono<SessionEnv>()
  app.onError(sessionErrors)
  app.use('/api/*', edgeSessions({ clock: () => h.now }))
  app.get('/api/me', (c) => c.json({ session: c.var.auth.session.id }))
  app.get('/open', (c) => c.text('no session needed'))
  return async (path: string, ip: string, headers: Record<string, string> = {}) => {
    const ctx = createExecutionContext()
    const response = await app.request(
      `https://app.example${path}`,
      { headers: { 'CF-Connecting-IP': ip, ...headers } },
      h.env,
      ctx
    )
    await waitOnExecutionContext(ctx)
    return response
  }
}

describe('edgeSessions() in a developer app', () => {
  it('hands the handler the session and slides it, with a fresh token on the response', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 120
    const response = await developerApp(h)('/api/me', ip, bearer(started.token))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ session: started.session.id })
    const fresh = response.headers.get('Session-Token')!
    expect(claimsOf(fresh)).toMatchObject({ sub: started.session.id, exp: T0 + 120 + 1800 })
    expect(response.headers.get('Cache-Control')).toBe('no-store')
  })

  it('answers refusals as problem+json through sessionErrors', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const response = await developerApp(h)('/api/me', freshIp())
    expect(response.status).toBe(401)
    expect(response.headers.get('Content-Type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ code: 'token_missing' })
  })

  it('refuses an ended session', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    await h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(started.token) })
    const response = await developerApp(h)('/api/me', ip, bearer(started.token))
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ code: 'session_revoked' })
  })

  it('leaves routes outside its path alone', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const response = await developerApp(h)('/open', freshIp())
    expect(response.status).toBe(200)
    expect(response.headers.get('Session-Token')).toBeNull()
  })
})
