import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, freshIp, harness, problemOf, startSession, T0 } from '../helpers/harness'
import { tapDb, tapKv, type Fault } from './bindings'

const REVOKE_SQL = /^UPDATE sessions SET revoked_at/

function taps(settings: Partial<Env> = {}) {
  const db = tapDb()
  const kv = tapKv()
  const h = harness({
    STORAGE_TIMEOUT_MS: '20',
    ...settings,
    DB: db.binding,
    REVOCATIONS: kv.binding,
  })
  return { h, db, kv }
}

async function revokedAt(id: string): Promise<number | null> {
  const row = await env.DB.prepare('SELECT revoked_at FROM sessions WHERE id = ?1')
    .bind(id)
    .first<{ revoked_at: number | null }>()
  return row!.revoked_at
}

function listed(id: string): Promise<string | null> {
  return env.REVOCATIONS.get(`revoked:${id}`)
}

/** A 503 that tells the client nothing ended: no cleared cookie, no Clear-Site-Data. */
async function expectNotEnded(response: Response) {
  expect(response.status).toBe(503)
  expect(response.headers.get('Retry-After')).toBe('5')
  expect(response.headers.get('Set-Cookie')).toBeNull()
  expect(response.headers.get('Clear-Site-Data')).toBeNull()
  expect(await problemOf(response)).toMatchObject({ code: 'storage_unavailable' })
}

describe('DELETE /v1/session when D1 fails', () => {
  it.each<Fault>(['throw', 'hang'])(
    'D1 revoke %s: 503, nothing written anywhere, and a retry after recovery ends it',
    async (fault) => {
      const { h, db } = taps()
      const ip = freshIp()
      const started = await startSession(h, ip)
      const id = started.session.id
      db.fail = (sql) => (REVOKE_SQL.test(sql) ? fault : undefined)
      h.now = T0 + 10
      const del = () =>
        h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(started.token) })

      await expectNotEnded(await del())
      expect(await revokedAt(id)).toBeNull()
      expect(await listed(id)).toBeNull()
      expect((await h.fetch('/v1/session', { ip, headers: bearer(started.token) })).status).toBe(
        200
      )

      db.fail = undefined
      expect((await del()).status).toBe(204)
      expect(await revokedAt(id)).toBe(T0 + 10)
      expect(await listed(id)).not.toBeNull()
      const after = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
      expect(await problemOf(after)).toMatchObject({ code: 'session_revoked' })
    }
  )
})

describe('DELETE /v1/session when the KV write fails', () => {
  it.each<Fault>(['throw', 'hang'])(
    'KV put %s: 503, and a retry after recovery ends it with 204',
    async (fault) => {
      const { h, kv } = taps()
      const ip = freshIp()
      const started = await startSession(h, ip)
      const id = started.session.id
      kv.fail = (method) => (method === 'put' ? fault : undefined)
      h.now = T0 + 10
      const del = () =>
        h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(started.token) })

      await expectNotEnded(await del())
      expect(await listed(id)).toBeNull()

      kv.fail = undefined
      expect((await del()).status).toBe(204)
      expect(await listed(id)).not.toBeNull()
      const after = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
      expect(await problemOf(after)).toMatchObject({ code: 'session_revoked' })
    }
  )

  it('REVOCATION=strict: the retry finds the D1 revocation, lists it in KV, and says it ended', async () => {
    const { h, kv } = taps({ REVOCATION: 'strict' })
    const ip = freshIp()
    const started = await startSession(h, ip)
    const id = started.session.id
    kv.fail = (method) => (method === 'put' ? 'throw' : undefined)
    h.now = T0 + 10
    const del = () =>
      h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(started.token) })
    await expectNotEnded(await del())

    kv.fail = undefined
    const retry = await del()
    expect(await problemOf(retry)).toMatchObject({ code: 'session_revoked' })
    expect(await listed(id)).not.toBeNull()
    const fast = harness()
    fast.now = T0 + 11
    const refused = await fast.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(await problemOf(refused)).toMatchObject({ code: 'session_revoked' })
  })

  it('the half-done revocation is never undone: resume by IP and expired tokens are refused', async () => {
    const { h, kv } = taps()
    const ip = freshIp()
    const started = await startSession(h, ip)
    kv.fail = (method) => (method === 'put' ? 'throw' : undefined)
    h.now = T0 + 10
    await expectNotEnded(
      await h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(started.token) })
    )
    kv.fail = undefined
    const resumed = await h.fetch('/v1/sessions', { method: 'POST', ip })
    expect(resumed.status).toBe(201)
    expect((await resumed.json<{ session: { id: string } }>()).session.id).not.toBe(
      started.session.id
    )
    h.now = T0 + 1900
    const expired = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(await problemOf(expired)).toMatchObject({ code: 'session_revoked' })
  })
})
