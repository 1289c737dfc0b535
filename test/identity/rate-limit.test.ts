import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bearer, freshIp, harness } from '../helpers/harness'
import { freshV6Prefix48, get, post, storedRow } from './helpers'

/** The simple limit of CREATE_LIMITER in wrangler.toml: new sessions per client key per window. */
const LIMIT = 10
/**
 * Requests enough to meet a refusal even if the limiter's 60 s window turns over a few times while
 * the test runs: each window lets at most LIMIT through.
 */
const MAX_TRIES = LIMIT * 5

afterEach(() => {
  vi.restoreAllMocks()
})

type LimiterCall = { key: string; success: boolean }

/** The real CREATE_LIMITER binding, wrapped to record each question and its answer. */
function recordingLimiter(): { limiter: RateLimit; calls: LimiterCall[] } {
  const real = env.CREATE_LIMITER!
  const calls: LimiterCall[] = []
  const limiter: RateLimit = {
    limit: async (options) => {
      const outcome = await real.limit(options)
      calls.push({ key: options.key, success: outcome.success })
      return outcome
    },
  }
  return { limiter, calls }
}

/** Starts tokenless sessions from `ip` until one is refused; returns the refusal and the count. */
async function exhaust(h: ReturnType<typeof harness>, ip: string) {
  const created: string[] = []
  for (let i = 0; i < MAX_TRIES; i++) {
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip })
    if (response.status === 429) {
      return { refusal: response, created }
    }
    expect(response.status).toBe(201)
    created.push((await response.json<{ token: string }>()).token)
  }
  throw new Error('the creation limit was never reached')
}

describe('session creation limit (CREATE_LIMITER)', () => {
  it('answers 429 rate_limited with Retry-After once a client key is over the limit', async () => {
    const { limiter, calls } = recordingLimiter()
    const h = harness({ IDENTIFY_BY: 'token', CREATE_LIMITER: limiter })
    const { refusal, created } = await exhaust(h, freshIp())
    expect(created.length).toBeGreaterThanOrEqual(LIMIT)
    expect(calls.map((c) => c.success)).toEqual([...created.map(() => true), false])
    expect(refusal.headers.get('Content-Type')).toBe('application/problem+json')
    expect(refusal.headers.get('Retry-After')).toBe('60')
    expect(refusal.headers.get('Set-Cookie')).toBeNull()
    expect(refusal.headers.get('Session-Token')).toBeNull()
    expect(await refusal.json()).toMatchObject({ code: 'rate_limited', status: 429 })
  })

  it('writes no session row for a refused start', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const first = await post(h, ip)
    const hash = (await storedRow(first.id!)).client_key_hash
    const { created } = await exhaust(h, ip)
    const count = await env.DB.prepare(
      'SELECT count(*) AS n FROM sessions WHERE client_key_hash = ?1'
    )
      .bind(hash)
      .first<number>('n')
    expect(count).toBe(created.length + 1)
  })

  it('never limits resuming: live tokens and the IP session keep working after a 429', async () => {
    const ip = freshIp()
    const byToken = harness({ IDENTIFY_BY: 'token' })
    const { created } = await exhaust(byToken, ip)
    const token = created[0]!
    const byIp = harness()
    for (let i = 0; i < LIMIT * 2; i++) {
      expect((await post(byToken, ip, bearer(token))).status).toBe(200)
      expect((await get(byToken, ip, bearer(token))).status).toBe(200)
      expect((await post(byIp, ip)).status).toBe(200)
      expect((await get(byIp, ip)).status).toBe(200)
    }
  })

  it('does not consult the limiter when a start resumes a session', async () => {
    const { limiter, calls } = recordingLimiter()
    const ip = freshIp()
    const byIp = harness({ CREATE_LIMITER: limiter })
    const started = await post(byIp, ip)
    expect(started.status).toBe(201)
    expect(calls).toHaveLength(1)
    for (let i = 0; i < LIMIT * 2; i++) {
      expect((await post(byIp, ip)).status).toBe(200)
      expect((await post(byIp, ip, bearer(started.token!))).status).toBe(200)
    }
    expect(calls).toHaveLength(1)
  })

  it('leaves other client keys unaffected', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    await exhaust(h, freshIp())
    for (let i = 0; i < 3; i++) {
      expect((await post(h, freshIp())).status).toBe(201)
    }
  })

  it('counts by the keyed client hash: one key for a /64, never the raw address', async () => {
    const { limiter, calls } = recordingLimiter()
    const h = harness({ IDENTIFY_BY: 'token', CREATE_LIMITER: limiter })
    const net = freshV6Prefix48()
    const a = await post(h, `${net}:1::a`)
    await post(h, `${net}:1:ffff::b`)
    await post(h, `${net}:2::a`)
    const keys = calls.map((c) => c.key)
    expect(keys).toHaveLength(3)
    expect(keys[0]).toBe((await storedRow(a.id!)).client_key_hash)
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).not.toBe(keys[0])
    expect(keys.join(' ')).not.toContain(net)
    expect(keys.join(' ')).not.toContain('ipv6')
  })

  it('refuses to create sessions without the binding: 500 naming CREATE_LIMITER', async () => {
    const ip = freshIp()
    const started = await post(harness(), ip)
    const logged = vi.spyOn(console, 'log').mockImplementation(() => {})
    const unlimited = harness({ CREATE_LIMITER: undefined })
    expect(await post(unlimited, ip)).toMatchObject({ status: 200, id: started.id })
    expect(await post(unlimited, freshIp())).toMatchObject({
      status: 500,
      code: 'configuration_error',
    })
    const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)))
    expect(lines).toContainEqual(
      expect.objectContaining({ event: 'configuration_error', setting: 'CREATE_LIMITER' })
    )
  })
})
