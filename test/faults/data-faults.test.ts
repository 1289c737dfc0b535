import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, freshIp, harness, problemOf, startSession } from '../helpers/harness'
import { tapDb, type Fault } from './bindings'

async function stored(id: string) {
  return env.DB.prepare('SELECT data, data_version FROM sessions WHERE id = ?1')
    .bind(id)
    .first<{ data: string; data_version: number }>()
}

describe('PUT /v1/session/data when D1 fails', () => {
  it.each<Fault>(['throw', 'hang'])(
    'the conditional UPDATE %s: 503, no ETag, nothing stored, and the same If-Match works after',
    async (fault) => {
      const db = tapDb()
      const h = harness({ STORAGE_TIMEOUT_MS: '20', DB: db.binding })
      const ip = freshIp()
      const { token, session } = await startSession(h, ip)
      const put = () =>
        h.fetch('/v1/session/data', {
          method: 'PUT',
          ip,
          body: '{"saved":true}',
          headers: { ...bearer(token), 'Content-Type': 'application/json', 'If-Match': '"1"' },
        })
      db.fail = (sql) => (sql.startsWith('UPDATE sessions SET data') ? fault : undefined)

      const failed = await put()
      expect(failed.status).toBe(503)
      expect(failed.headers.get('ETag')).toBeNull()
      expect(failed.headers.get('Retry-After')).toBe('5')
      expect(await problemOf(failed)).toMatchObject({ code: 'storage_unavailable' })
      expect(await stored(session.id)).toEqual({ data: '{}', data_version: 1 })

      db.fail = undefined
      const retried = await put()
      expect(retried.status).toBe(200)
      expect(retried.headers.get('ETag')).toBe('"2"')
    }
  )

  it('the read that tells 412 from an ended session fails: 503, not 412', async () => {
    const db = tapDb()
    const h = harness({ DB: db.binding })
    const ip = freshIp()
    const { token } = await startSession(h, ip)
    db.fail = (sql) => (sql.startsWith('SELECT') ? 'throw' : undefined)
    const response = await h.fetch('/v1/session/data', {
      method: 'PUT',
      ip,
      body: '{}',
      headers: { ...bearer(token), 'Content-Type': 'application/json', 'If-Match': '"7"' },
    })
    expect(response.status).toBe(503)
  })
})
