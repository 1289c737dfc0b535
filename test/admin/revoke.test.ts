import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, freshIp, harness, startSession, T0, type Harness } from '../helpers/harness'
import { newId, seedSessions } from './seed'

const ADMIN = bearer(env.ADMIN_TOKEN!)
const MAX_AGE = 43_200
/** markRevoked keeps an entry this long past the session's absolute deadline. */
const KV_MARGIN_SECONDS = 60

async function revokedAt(id: string): Promise<number | null> {
  const row = await env.DB.prepare('SELECT revoked_at FROM sessions WHERE id = ?1')
    .bind(id)
    .first<{ revoked_at: number | null }>()
  return row!.revoked_at
}

/** The KV entry's absolute expiry in real Unix seconds, or undefined when not listed. */
async function kvExpiry(id: string): Promise<number | undefined> {
  const { keys } = await env.REVOCATIONS.list({ prefix: `revoked:${id}` })
  const key = keys.find((k) => k.name === `revoked:${id}`)
  return key === undefined ? undefined : (key.expiration ?? Number.POSITIVE_INFINITY)
}

async function sessionCode(h: Harness, ip: string, token: string): Promise<string | number> {
  const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
  return response.status === 200 ? 200 : (await response.json<{ code: string }>()).code
}

function failingPuts(kv: KVNamespace): KVNamespace {
  return {
    get: kv.get.bind(kv),
    put: () => Promise.reject(new Error('KV put failed')),
  } as unknown as KVNamespace
}

function failingD1(): D1Database {
  const fail = () => {
    throw new Error('D1 is down')
  }
  return { prepare: fail, batch: fail, exec: fail } as unknown as D1Database
}

function realNow(): number {
  return Math.floor(Date.now() / 1000)
}

describe('DELETE /v1/admin/sessions/{id}', () => {
  it('revokes in D1 and lists in KV past the absolute deadline; 204, no-store', async () => {
    const h = harness()
    const ip = freshIp()
    const { session } = await startSession(h, ip)
    h.now = T0 + 100
    const ttl = T0 + MAX_AGE - h.now + KV_MARGIN_SECONDS
    const before = realNow()
    const response = await h.fetch(`/v1/admin/sessions/${session.id}`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    const after = realNow()
    expect(response.status).toBe(204)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(await response.text()).toBe('')
    expect(await revokedAt(session.id)).toBe(T0 + 100)
    const expiry = await kvExpiry(session.id)
    expect(expiry).toBeGreaterThanOrEqual(before + ttl)
    expect(expiry).toBeLessThanOrEqual(after + ttl + 1)
  })

  it.each(['fast', 'strict'])(
    'makes every token of the session refused with REVOCATION=%s',
    async (mode) => {
      const h = harness({ REVOCATION: mode })
      const ip = freshIp()
      const started = await startSession(h, ip)
      h.now += 10
      const slid = await (
        await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
      ).json<{ token: string }>()
      await h.fetch(`/v1/admin/sessions/${started.session.id}`, {
        method: 'DELETE',
        headers: ADMIN,
      })
      expect(await sessionCode(h, ip, started.token)).toBe('session_revoked')
      expect(await sessionCode(h, ip, slid.token)).toBe('session_revoked')
    }
  )

  it('is idempotent: a second DELETE is 204 and keeps the first revocation time', async () => {
    const h = harness()
    const { session } = await startSession(h, freshIp())
    const path = `/v1/admin/sessions/${session.id}`
    expect((await h.fetch(path, { method: 'DELETE', headers: ADMIN })).status).toBe(204)
    h.now += 500
    expect((await h.fetch(path, { method: 'DELETE', headers: ADMIN })).status).toBe(204)
    expect(await revokedAt(session.id)).toBe(T0)
  })

  it('revokes a session that has already expired, and says so', async () => {
    const h = harness()
    const [id] = await seedSessions(env.DB, [
      { createdAt: T0 - 100, idleExpiresAt: T0 - 10, absoluteExpiresAt: T0 + 100 },
    ])
    const response = await h.fetch(`/v1/admin/sessions/${id}`, { method: 'DELETE', headers: ADMIN })
    expect(response.status).toBe(204)
    const read = await h.fetch(`/v1/admin/sessions/${id}`, { headers: ADMIN })
    expect(await read.json()).toMatchObject({ state: 'revoked' })
    expect(await kvExpiry(id!)).toBeDefined()
  })

  it.each([
    ['unknown', newId()],
    ['malformed', 'not-a-session-id'],
  ])('answers 404 not_found for an %s id and writes nothing', async (_, id) => {
    const h = harness()
    const response = await h.fetch(`/v1/admin/sessions/${id}`, { method: 'DELETE', headers: ADMIN })
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ code: 'not_found' })
    expect(await kvExpiry(id)).toBeUndefined()
  })

  it('answers 503 when KV fails after D1, and a retry completes the revocation', async () => {
    const ok = harness()
    const ip = freshIp()
    const { session, token } = await startSession(ok, ip)
    const broken = harness({ REVOCATIONS: failingPuts(env.REVOCATIONS) })
    const path = `/v1/admin/sessions/${session.id}`
    const failed = await broken.fetch(path, { method: 'DELETE', headers: ADMIN })
    expect(failed.status).toBe(503)
    expect(failed.headers.get('Retry-After')).toBe('5')
    expect(await failed.json()).toMatchObject({ code: 'storage_unavailable' })
    expect(await kvExpiry(session.id)).toBeUndefined()
    expect((await ok.fetch(path, { method: 'DELETE', headers: ADMIN })).status).toBe(204)
    expect(await kvExpiry(session.id)).toBeDefined()
    expect(await sessionCode(ok, ip, token)).toBe('session_revoked')
  })

  it('answers 503 when D1 fails and lists nothing in KV', async () => {
    const h = harness({ DB: failingD1() })
    const id = newId()
    const response = await h.fetch(`/v1/admin/sessions/${id}`, { method: 'DELETE', headers: ADMIN })
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ code: 'storage_unavailable' })
    expect(await kvExpiry(id)).toBeUndefined()
  })
})

describe('DELETE /v1/admin/clients/{ip}/sessions', () => {
  it("revokes every session of the client: its tokens die, other clients' live on", async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const other = freshIp()
    const mine = [await startSession(h, ip), await startSession(h, ip), await startSession(h, ip)]
    const theirs = await startSession(h, other)
    h.now += 20
    const response = await h.fetch(`/v1/admin/clients/${ip}/sessions`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const text = await response.text()
    expect(JSON.parse(text)).toEqual({ revoked: 3 })
    expect(text).not.toContain(ip)
    for (const started of mine) {
      expect(await revokedAt(started.session.id)).toBe(T0 + 20)
      expect(await kvExpiry(started.session.id)).toBeDefined()
      expect(await sessionCode(h, ip, started.token)).toBe('session_revoked')
    }
    expect(await revokedAt(theirs.session.id)).toBeNull()
    expect(await sessionCode(h, other, theirs.token)).toBe(200)
  })

  it('counts only the sessions this call revoked; a repeat answers 0', async () => {
    const h = harness()
    const ip = freshIp()
    await startSession(h, ip)
    const path = `/v1/admin/clients/${ip}/sessions`
    expect(await (await h.fetch(path, { method: 'DELETE', headers: ADMIN })).json()).toEqual({
      revoked: 1,
    })
    expect(await (await h.fetch(path, { method: 'DELETE', headers: ADMIN })).json()).toEqual({
      revoked: 0,
    })
  })

  it('leaves sessions past their absolute deadline as they are', async () => {
    const h = harness()
    const ip = freshIp()
    const { session } = await startSession(h, ip)
    h.now = T0 + MAX_AGE
    const response = await h.fetch(`/v1/admin/clients/${ip}/sessions`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    expect(await response.json()).toEqual({ revoked: 0 })
    expect(await revokedAt(session.id)).toBeNull()
  })

  it.each([
    ['raw', (ip: string) => ip],
    ['URL-encoded', (ip: string) => encodeURIComponent(ip)],
    ['uppercase and encoded', (ip: string) => encodeURIComponent(ip.toUpperCase())],
  ])('takes a %s IPv6 address and revokes its whole /64', async (_, spell) => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const net = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:42`
    const a = await startSession(h, `${net}::10`)
    const b = await startSession(h, `${net}:1:2:3:4`)
    const elsewhere = await startSession(h, `${net.slice(0, -1)}3::10`)
    const response = await h.fetch(`/v1/admin/clients/${spell(`${net}::99`)}/sessions`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ revoked: 2 })
    expect(await sessionCode(h, `${net}::10`, a.token)).toBe('session_revoked')
    expect(await sessionCode(h, `${net}:1:2:3:4`, b.token)).toBe('session_revoked')
    expect(await revokedAt(elsewhere.session.id)).toBeNull()
  })

  it('treats an IPv4-mapped IPv6 address as the IPv4 client', async () => {
    const h = harness()
    const ip = freshIp()
    const { session } = await startSession(h, ip)
    const response = await h.fetch(
      `/v1/admin/clients/${encodeURIComponent(`::ffff:${ip}`)}/sessions`,
      { method: 'DELETE', headers: ADMIN }
    )
    expect(await response.json()).toEqual({ revoked: 1 })
    expect(await revokedAt(session.id)).toBe(T0)
  })

  it('revokes sessions made under the previous secret during a rotation', async () => {
    const ip = freshIp()
    const before = harness()
    const { session, token } = await startSession(before, ip)
    const after = harness({
      SESSION_SECRET: 'rotated-secret-0123456789abcdef0123456789abcdef',
      SESSION_SECRET_PREVIOUS: env.SESSION_SECRET,
    })
    const response = await after.fetch(`/v1/admin/clients/${ip}/sessions`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    expect(await response.json()).toEqual({ revoked: 1 })
    expect(await revokedAt(session.id)).toBe(T0)
    expect(await sessionCode(after, ip, token)).toBe('session_revoked')
  })

  it.each([
    'not-an-ip',
    '203.0.113.1%2C203.0.113.2',
    '999.0.113.1',
    '203.0.113',
    '2001%3Adb8%3A%3A%2F64',
    'fe80%3A%3A1%25eth0',
  ])('answers 400 client_ip_invalid for %s without echoing the path', async (ip) => {
    const h = harness()
    const response = await h.fetch(`/v1/admin/clients/${ip}/sessions`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    expect(response.status).toBe(400)
    const body = await response.json<Record<string, unknown>>()
    expect(body).toMatchObject({ code: 'client_ip_invalid' })
    expect(body.instance).toBeUndefined()
    expect(JSON.stringify(body)).not.toContain(decodeURIComponent(ip))
  })

  it('does not echo the address in an authorisation problem either', async () => {
    const h = harness()
    const ip = freshIp()
    const response = await h.fetch(`/v1/admin/clients/${ip}/sessions`, { method: 'DELETE' })
    expect(response.status).toBe(401)
    const text = await response.text()
    expect(text).not.toContain(ip)
    expect(JSON.parse(text)).toMatchObject({ code: 'admin_unauthorized' })
  })

  it.each([
    ['DELETE', '/v1/admin/clients/{ip}/sessions/'],
    ['DELETE', '/v1/admin/clients/{ip}/sessions/x'],
    ['DELETE', '/v1/admin/clients/{ip}'],
    ['GET', '/v1/admin/sessions/{ip}'],
    ['GET', '/v1/{ip}'],
  ])('does not echo an address in any problem: %s %s', async (method, template) => {
    const h = harness()
    const ip = freshIp()
    for (const headers of [ADMIN, undefined]) {
      const response = await h.fetch(template.replace('{ip}', ip), { method, headers })
      expect(response.status).toBeGreaterThanOrEqual(400)
      expect(await response.text()).not.toContain(ip)
    }
  })

  it('answers 503 when KV fails, and a retry lists every session it revoked before', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const mine = [await startSession(h, ip), await startSession(h, ip)]
    const broken = harness({ IDENTIFY_BY: 'token', REVOCATIONS: failingPuts(env.REVOCATIONS) })
    const path = `/v1/admin/clients/${ip}/sessions`
    const failed = await broken.fetch(path, { method: 'DELETE', headers: ADMIN })
    expect(failed.status).toBe(503)
    expect(await failed.json()).toMatchObject({ code: 'storage_unavailable' })
    for (const started of mine) {
      expect(await kvExpiry(started.session.id)).toBeUndefined()
    }
    const retried = await h.fetch(path, { method: 'DELETE', headers: ADMIN })
    expect(retried.status).toBe(200)
    for (const started of mine) {
      expect(await kvExpiry(started.session.id)).toBeDefined()
      expect(await sessionCode(h, ip, started.token)).toBe('session_revoked')
    }
  })

  it('answers 503 when D1 fails', async () => {
    const h = harness({ DB: failingD1() })
    const response = await h.fetch(`/v1/admin/clients/${freshIp()}/sessions`, {
      method: 'DELETE',
      headers: ADMIN,
    })
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ code: 'storage_unavailable' })
  })
})
