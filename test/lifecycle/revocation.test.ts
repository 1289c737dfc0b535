import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, freshIp, harness, problemOf, startSession, T0 } from '../helpers/harness'
import { reads, tapDb, tapKv } from '../faults/bindings'

/** Revokes a session the way an operator's direct SQL would: in D1 only, KV untouched. */
async function revokeInD1Only(id: string, at: number) {
  await env.DB.prepare('UPDATE sessions SET revoked_at = ?2 WHERE id = ?1').bind(id, at).run()
}

function listed(id: string): Promise<string | null> {
  return env.REVOCATIONS.get(`revoked:${id}`)
}

function tapped(settings: Partial<Env> = {}) {
  const db = tapDb()
  const kv = tapKv()
  return { h: harness({ ...settings, DB: db.binding, REVOCATIONS: kv.binding }), db, kv }
}

describe('REVOCATION=fast: signature and KV decide for a live token', () => {
  it('makes no D1 read for a live token; its only D1 statement is the deferred slide', async () => {
    const { h, db, kv } = tapped()
    const ip = freshIp()
    const started = await startSession(h, ip)
    db.prepared.length = 0
    kv.calls.length = 0
    h.now = T0 + 10
    const response = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(response.status).toBe(200)
    expect(reads(db.prepared)).toEqual([])
    expect(db.prepared).toHaveLength(1)
    expect(db.prepared[0]).toMatch(/^UPDATE sessions SET last_seen_at = max\(last_seen_at, \?2\)/)
    expect(kv.calls).toEqual([`get revoked:${started.session.id}`])
  })

  it('makes no D1 call at all between refreshes', async () => {
    const { h, db } = tapped({ REFRESH_AFTER_SECONDS: '60' })
    const ip = freshIp()
    const started = await startSession(h, ip)
    db.prepared.length = 0
    h.now = T0 + 30
    expect((await h.fetch('/v1/session', { ip, headers: bearer(started.token) })).status).toBe(200)
    expect(db.prepared).toEqual([])
  })

  it('answers without waiting on D1: with every D1 call hung, a live token is still served', async () => {
    const fast = tapped({ STORAGE_TIMEOUT_MS: '20' })
    const strict = harness({ STORAGE_TIMEOUT_MS: '20', REVOCATION: 'strict', DB: fast.db.binding })
    const ip = freshIp()
    const started = await startSession(fast.h, ip)
    fast.db.fail = () => 'hang'
    fast.h.now = strict.now = T0 + 10

    const served = await fast.h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(served.status).toBe(200)
    expect(served.headers.get('Session-Token')).not.toBe(started.token)
    const waited = await strict.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(await problemOf(waited)).toMatchObject({ code: 'storage_unavailable' })
  })

  it('honours a revocation listed in KV at once, for every token of the session', async () => {
    const { h, db } = tapped()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 10
    const second = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    const other = second.headers.get('Session-Token')!
    await env.REVOCATIONS.put(`revoked:${started.session.id}`, String(h.now))
    db.prepared.length = 0

    for (const token of [started.token, other]) {
      const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
      expect(await problemOf(response)).toMatchObject({ code: 'session_revoked', status: 401 })
    }
    expect(db.prepared).toEqual([])
  })

  it('keeps serving a live token whose session was revoked in D1 only: the documented window', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    await revokeInD1Only(started.session.id, T0 + 5)
    h.now = T0 + 10
    expect((await h.fetch('/v1/session', { ip, headers: bearer(started.token) })).status).toBe(200)
  })

  it('sees a D1-only revocation at once wherever it reads D1, and lists it in KV for the rest', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 1000
    const live = (await h.fetch('/v1/session', { ip, headers: bearer(started.token) })).headers.get(
      'Session-Token'
    )!
    await revokeInD1Only(started.session.id, T0 + 1001)
    expect(await listed(started.session.id)).toBeNull()

    h.now = T0 + 1900
    const expired = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(await problemOf(expired)).toMatchObject({ code: 'session_revoked' })
    expect(await listed(started.session.id)).not.toBeNull()
    const refused = await h.fetch('/v1/session', { ip, headers: bearer(live) })
    expect(await problemOf(refused)).toMatchObject({ code: 'session_revoked' })
  })
})

describe('REVOCATION=strict: D1 decides on every request', () => {
  it('refuses at once a session revoked in D1 only, where fast mode still serves it', async () => {
    const fast = harness({ REVOCATION: 'fast' })
    const strict = harness({ REVOCATION: 'strict' })
    const ip = freshIp()
    const started = await startSession(fast, ip)
    await revokeInD1Only(started.session.id, T0 + 5)
    fast.now = strict.now = T0 + 10

    const served = await fast.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(served.status).toBe(200)
    const refused = await strict.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(refused.status).toBe(401)
    expect(await problemOf(refused)).toMatchObject({ code: 'session_revoked' })
  })

  it('once strict mode found the D1 revocation, fast mode refuses the session too', async () => {
    const fast = harness({ REVOCATION: 'fast' })
    const strict = harness({ REVOCATION: 'strict' })
    const ip = freshIp()
    const started = await startSession(fast, ip)
    await revokeInD1Only(started.session.id, T0 + 5)
    fast.now = strict.now = T0 + 10
    await strict.fetch('/v1/session', { ip, headers: bearer(started.token) })
    const refused = await fast.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(await problemOf(refused)).toMatchObject({ code: 'session_revoked' })
  })

  it('costs one D1 statement per request: the sliding UPDATE, or a read when nothing moves', async () => {
    const { h, db } = tapped({ REVOCATION: 'strict' })
    const ip = freshIp()
    let token = (await startSession(h, ip)).token
    for (const at of [T0 + 10, T0 + 10, T0 + 11, T0 + 600]) {
      db.prepared.length = 0
      h.now = at
      const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
      expect(response.status).toBe(200)
      token = response.headers.get('Session-Token')!
      expect(db.prepared).toHaveLength(1)
    }
  })

  it('with a refresh interval, reads D1 between slides and writes it once per interval', async () => {
    const { h, db } = tapped({ REVOCATION: 'strict', REFRESH_AFTER_SECONDS: '60' })
    const ip = freshIp()
    let token = (await startSession(h, ip)).token
    const seen: string[][] = []
    for (const at of [T0 + 30, T0 + 60, T0 + 90]) {
      db.prepared.length = 0
      h.now = at
      const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
      token = response.headers.get('Session-Token')!
      seen.push(db.prepared.map((sql) => sql.split(' ')[0]!))
    }
    expect(seen).toEqual([['SELECT'], ['UPDATE'], ['SELECT']])
  })

  it('refuses a session ended through DELETE in every mode', async () => {
    const fast = harness({ REVOCATION: 'fast' })
    const strict = harness({ REVOCATION: 'strict' })
    const ip = freshIp()
    const started = await startSession(fast, ip)
    const ended = await fast.fetch('/v1/session', {
      method: 'DELETE',
      ip,
      headers: bearer(started.token),
    })
    expect(ended.status).toBe(204)
    for (const h of [fast, strict]) {
      const response = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
      expect(await problemOf(response)).toMatchObject({ code: 'session_revoked' })
    }
  })
})
