import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, claimsOf, freshIp, harness, T0 } from '../helpers/harness'
import { freshV6Prefix64, get, post } from './helpers'

const IDLE = 1800

/** The real binding, wrapped to record the name of every method called on it. */
function watched<T extends object>(binding: T, calls: string[]): T {
  return new Proxy(binding, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') {
        return value
      }
      return (...args: unknown[]) => {
        calls.push(String(prop))
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
}

async function lastSeen(id: string): Promise<number | null> {
  return env.DB.prepare('SELECT last_seen_at FROM sessions WHERE id = ?1')
    .bind(id)
    .first<number>('last_seen_at')
}

describe('IP_BINDING=strict (the default)', () => {
  it('refuses a token from another client key on GET with 401 client_changed', async () => {
    const h = harness()
    const home = freshIp()
    const { id, token } = await post(h, home)
    const response = await h.fetch('/v1/session', { ip: freshIp(), headers: bearer(token!) })
    expect(response.status).toBe(401)
    expect(response.headers.get('WWW-Authenticate')).toContain('error="invalid_token"')
    expect(response.headers.get('Session-Token')).toBeNull()
    expect(await response.json()).toMatchObject({ code: 'client_changed' })
    expect(await get(h, home, bearer(token!))).toMatchObject({ status: 200, id })
  })

  it('refuses the session cookie from another client key too', async () => {
    const h = harness()
    const { token } = await post(h, freshIp())
    const moved = await get(h, freshIp(), { Cookie: `__Host-session=${token}` })
    expect(moved).toMatchObject({ status: 401, code: 'client_changed' })
  })

  it('refuses an expired token from another client key without sliding its session', async () => {
    const h = harness()
    const home = freshIp()
    const first = await post(h, home)
    h.now += 600
    await get(h, home, bearer(first.token!))
    h.now = T0 + IDLE + 1
    expect(await get(h, freshIp(), bearer(first.token!))).toMatchObject({ code: 'client_changed' })
    expect(await lastSeen(first.id!)).toBe(T0 + 600)
  })

  it('honours a token from another address of the same IPv6 /64', async () => {
    const h = harness()
    const net = freshV6Prefix64()
    const { id, token } = await post(h, `${net}::1`)
    const moved = await get(h, `${net}:8a2e:370:7334:1`, bearer(token!))
    expect(moved).toMatchObject({ status: 200, id })
  })

  it('counts a token as moved once IPV6_PREFIX_BITS changes the client key', async () => {
    const ip = `${freshV6Prefix64()}::1`
    const { token } = await post(harness(), ip)
    const rekeyed = harness({ IPV6_PREFIX_BITS: '48' })
    expect(await get(rekeyed, ip, bearer(token!))).toMatchObject({ code: 'client_changed' })
  })

  it('starts a new session on POST with a token from another key (mode token)', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const home = freshIp()
    const away = freshIp()
    const first = await post(h, home)
    const moved = await post(h, away, bearer(first.token!))
    expect(moved.status).toBe(201)
    expect(moved.id).not.toBe(first.id)
    expect(claimsOf(moved.token!).ckt).not.toBe(claimsOf(first.token!).ckt)
    expect(await get(h, away, bearer(moved.token!))).toMatchObject({ status: 200, id: moved.id })
    expect(await get(h, home, bearer(first.token!))).toMatchObject({ status: 200, id: first.id })
  })

  it('resumes the new key’s own session on POST with a foreign token (mode ip)', async () => {
    const h = harness()
    const home = freshIp()
    const away = freshIp()
    const first = await post(h, home)
    const local = await post(h, away)
    const moved = await post(h, away, bearer(first.token!))
    expect(moved).toMatchObject({ status: 200, id: local.id })
  })

  it('starts a session for a new key without one on POST with a foreign token (mode ip)', async () => {
    const h = harness()
    const first = await post(h, freshIp())
    const away = freshIp()
    const moved = await post(h, away, bearer(first.token!))
    expect(moved.status).toBe(201)
    expect(moved.id).not.toBe(first.id)
    expect(await get(h, away)).toMatchObject({ status: 200, id: moved.id })
  })
})

describe('IP_BINDING=strict needs no storage read to refuse a moved token', () => {
  it('answers client_changed without calling D1 or KV (REVOCATION=fast)', async () => {
    const h = harness()
    const { token } = await post(h, freshIp())
    const d1: string[] = []
    const kv: string[] = []
    h.env = {
      ...h.env,
      DB: watched(env.DB, d1),
      REVOCATIONS: watched(env.REVOCATIONS, kv),
    }
    expect(await get(h, freshIp(), bearer(token!))).toMatchObject({ code: 'client_changed' })
    expect(d1).toEqual([])
    expect(kv).toEqual([])
  })

  it('sees the calls when storage is used, so the watch above is live', async () => {
    const h = harness()
    const ip = freshIp()
    const { token } = await post(h, ip)
    const d1: string[] = []
    const kv: string[] = []
    h.env = { ...h.env, DB: watched(env.DB, d1), REVOCATIONS: watched(env.REVOCATIONS, kv) }
    h.now += 60
    expect((await get(h, ip, bearer(token!))).status).toBe(200)
    expect(kv).toContain('get')
    expect(d1).toContain('prepare')
  })
})

describe('IP_BINDING=off', () => {
  it('lets the session follow its client across addresses, and the token keep working', async () => {
    const h = harness({ IP_BINDING: 'off' })
    const home = freshIp()
    const first = await post(h, home)
    h.now += 60
    const cafe = await get(h, freshIp(), bearer(first.token!))
    expect(cafe).toMatchObject({ status: 200, id: first.id })
    h.now += 60
    const v6 = await get(h, `${freshV6Prefix64()}::5`, bearer(cafe.token!))
    expect(v6).toMatchObject({ status: 200, id: first.id })
    expect(await get(h, home, bearer(first.token!))).toMatchObject({ status: 200, id: first.id })
    expect(await get(h, home, bearer(v6.token!))).toMatchObject({ status: 200, id: first.id })
  })

  it('resumes the token’s session on POST from another address, in both modes', async () => {
    for (const mode of ['ip', 'token']) {
      const h = harness({ IP_BINDING: 'off', IDENTIFY_BY: mode })
      const first = await post(h, freshIp())
      const moved = await post(h, freshIp(), bearer(first.token!))
      expect(moved).toMatchObject({ status: 200, id: first.id })
    }
  })

  it('still finds a tokenless client by its own address only (mode ip)', async () => {
    const h = harness({ IP_BINDING: 'off' })
    await post(h, freshIp())
    expect(await get(h, freshIp())).toMatchObject({ status: 401, code: 'session_not_found' })
  })
})
