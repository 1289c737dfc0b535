import { describe, expect, it } from 'vitest'
import { bearer, claimsOf, freshIp, harness, startSession, T0 } from '../helpers/harness'

const IDLE = 1800

/**
 * Two app instances over one D1 whose clocks differ by a second, as two locations or isolates may:
 * the one ahead slides the session, then the one behind serves it.
 */
async function slidAhead(settings: Partial<Env> = {}) {
  const ahead = harness(settings)
  const behind = harness(settings)
  const ip = freshIp()
  const started = await startSession(ahead, ip)
  ahead.now = T0 + 100
  const slid = await ahead.fetch('/v1/session', { ip, headers: bearer(started.token) })
  expect(slid.status).toBe(200)
  behind.now = T0 + 99
  return { behind, ip, token: started.token }
}

function expectWithinIdle(response: Response) {
  expect(response.status).toBeLessThan(300)
  const claims = claimsOf(response.headers.get('Session-Token')!)
  expect(claims.exp).toBe(T0 + 99 + IDLE)
  expect(claims.iat).toBe(T0 + 99)
}

describe('a clock a second behind the one that last slid the session', () => {
  it('REVOCATION=strict: serves it with a token no longer than the idle timeout', async () => {
    const { behind, ip, token } = await slidAhead({ REVOCATION: 'strict' })
    const response = await behind.fetch('/v1/session', { ip, headers: bearer(token) })
    expectWithinIdle(response)
    const body = await response.json<{ session: { expiresAt: string } }>()
    expect(body.session.expiresAt).toBe(new Date((T0 + 99 + IDLE) * 1000).toISOString())
  })

  it('an expired token: serves it with a token no longer than the idle timeout', async () => {
    const ahead = harness({ IDLE_TIMEOUT_SECONDS: '60' })
    const behind = harness({ IDLE_TIMEOUT_SECONDS: '60' })
    const ip = freshIp()
    const started = await startSession(ahead, ip)
    ahead.now = T0 + 50
    const first = await ahead.fetch('/v1/session', { ip, headers: bearer(started.token) })
    ahead.now = T0 + 62
    const fresh = first.headers.get('Session-Token')!
    expect((await ahead.fetch('/v1/session', { ip, headers: bearer(fresh) })).status).toBe(200)

    behind.now = T0 + 61
    const response = await behind.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(response.status).toBe(200)
    expect(claimsOf(response.headers.get('Session-Token')!)).toMatchObject({
      iat: T0 + 61,
      exp: T0 + 61 + 60,
    })
  })

  it('a start by IP: resumes it with a token no longer than the idle timeout', async () => {
    const { behind, ip } = await slidAhead()
    const response = await behind.fetch('/v1/sessions', { method: 'POST', ip })
    expectWithinIdle(response)
  })
})
