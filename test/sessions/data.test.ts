import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { MAX_DATA_BYTES } from '../../src/http/data'
import {
  bearer,
  freshIp,
  harness,
  problemOf,
  startSession,
  T0,
  type Harness,
} from '../helpers/harness'
import { reads, tapDb } from '../faults/bindings'

type DataReply = { data: Record<string, unknown>; version: number }

const JSON_TYPE = { 'Content-Type': 'application/json' }

async function session(h: Harness = harness()) {
  const ip = freshIp()
  const { token, session } = await startSession(h, ip)
  const get = () => h.fetch('/v1/session/data', { ip, headers: bearer(token) })
  const put = (body: BodyInit | null, headers: Record<string, string> = {}) =>
    h.fetch('/v1/session/data', {
      method: 'PUT',
      ip,
      body,
      headers: { ...bearer(token), ...JSON_TYPE, ...headers },
    })
  return { h, ip, token, id: session.id, get, put }
}

async function stored(id: string) {
  return env.DB.prepare('SELECT data, data_version FROM sessions WHERE id = ?1')
    .bind(id)
    .first<{ data: string; data_version: number }>()
}

/** A body that arrives in chunks, with no Content-Length. */
function streamOf(text: string, chunkBytes = 1024): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close()
        return
      }
      controller.enqueue(bytes.slice(offset, offset + chunkBytes))
      offset += chunkBytes
    },
  })
}

/** A JSON object whose serialisation is exactly `bytes` long. */
function objectOfSize(bytes: number): string {
  const text = JSON.stringify({ pad: '' })
  return JSON.stringify({ pad: 'x'.repeat(bytes - text.length) })
}

describe('GET /v1/session/data', () => {
  it('returns an empty object at version 1 with its ETag, not cacheable', async () => {
    const { get } = await session()
    const response = await get()
    expect(response.status).toBe(200)
    expect(response.headers.get('ETag')).toBe('"1"')
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(await response.json()).toEqual({ data: {}, version: 1 })
  })
})

describe('PUT /v1/session/data', () => {
  it('replaces the object when If-Match names the current version, and bumps the ETag', async () => {
    const { get, put, id } = await session()
    const response = await put('{"theme":"dark","n":[1,2]}', { 'If-Match': '"1"' })
    expect(response.status).toBe(200)
    expect(response.headers.get('ETag')).toBe('"2"')
    expect(await response.json()).toEqual({ data: { theme: 'dark', n: [1, 2] }, version: 2 })
    const read = await get()
    expect(read.headers.get('ETag')).toBe('"2"')
    expect(await read.json()).toEqual({ data: { theme: 'dark', n: [1, 2] }, version: 2 })
    expect(await stored(id)).toEqual({ data: '{"theme":"dark","n":[1,2]}', data_version: 2 })
  })

  it('refuses a stale If-Match with 412 and keeps the data', async () => {
    const { put, id } = await session()
    expect((await put('{"a":1}', { 'If-Match': '"1"' })).status).toBe(200)
    const stale = await put('{"a":2}', { 'If-Match': '"1"' })
    expect(stale.status).toBe(412)
    expect(await problemOf(stale)).toMatchObject({ code: 'precondition_failed' })
    expect(await stored(id)).toEqual({ data: '{"a":1}', data_version: 2 })
  })

  it.each([
    ['absent', undefined],
    ['the wildcard', '*'],
  ])('answers 428 when If-Match is %s', async (_, ifMatch) => {
    const { put, id } = await session()
    const response = await put('{"a":1}', ifMatch === undefined ? {} : { 'If-Match': ifMatch })
    expect(response.status).toBe(428)
    expect(await problemOf(response)).toMatchObject({ code: 'precondition_required' })
    expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
  })

  it.each(['W/"1"', '1', '"abc"', '"1", "2"', '"-1"', '""'])(
    'answers 412 for If-Match %s, which is not one current strong tag',
    async (ifMatch) => {
      const { put } = await session()
      const response = await put('{"a":1}', { 'If-Match': ifMatch })
      expect(response.status).toBe(412)
    }
  )

  it('accepts a body of exactly 16 KiB', async () => {
    const { put } = await session()
    const body = objectOfSize(MAX_DATA_BYTES)
    expect(new TextEncoder().encode(body).length).toBe(MAX_DATA_BYTES)
    expect((await put(body, { 'If-Match': '"1"' })).status).toBe(200)
  })

  it('refuses a body over 16 KiB announced by Content-Length with 413', async () => {
    const { put, id } = await session()
    const body = objectOfSize(MAX_DATA_BYTES + 1)
    const response = await put(body, {
      'If-Match': '"1"',
      'Content-Length': String(MAX_DATA_BYTES + 1),
    })
    expect(response.status).toBe(413)
    expect(await problemOf(response)).toMatchObject({ code: 'payload_too_large' })
    expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
  })

  it('refuses a body larger than its Content-Length claims with 413', async () => {
    const { put, id } = await session()
    const response = await put(objectOfSize(MAX_DATA_BYTES * 2), {
      'If-Match': '"1"',
      'Content-Length': '10',
    })
    expect(response.status).toBe(413)
    expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
  })

  it('refuses a streamed body over 16 KiB without Content-Length with 413', async () => {
    const { put, id } = await session()
    const response = await put(streamOf(objectOfSize(MAX_DATA_BYTES * 4)), { 'If-Match': '"1"' })
    expect(response.status).toBe(413)
    expect(await problemOf(response)).toMatchObject({ code: 'payload_too_large' })
    expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
  })

  it('reads an over-long streamed body to its end before the 413, so the connection stays usable', async () => {
    const { put } = await session()
    const chunks = 64
    let pulled = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled === chunks) {
          controller.close()
          return
        }
        pulled++
        controller.enqueue(new Uint8Array(4096).fill(0x20))
      },
    })
    const response = await put(body, { 'If-Match': '"1"' })
    expect(response.status).toBe(413)
    expect(pulled).toBe(chunks)
  })

  it.each(['"01"', '"+1"', '"1.0"', '"1 "'])(
    'compares If-Match strongly: %s is not the entity tag "1" (412)',
    async (ifMatch) => {
      const { put, id } = await session()
      const response = await put('{"a":1}', { 'If-Match': ifMatch })
      expect(response.status).toBe(412)
      expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
    }
  )

  it('accepts a small streamed body without Content-Length', async () => {
    const { put } = await session()
    const response = await put(streamOf('{"streamed":true}', 4), { 'If-Match': '"1"' })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ data: { streamed: true }, version: 2 })
  })

  it.each([
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['a JSON look-alike', 'application/json-seq'],
    ['no content type', ''],
  ])('refuses %s with 415', async (_, contentType) => {
    const { put } = await session()
    const response = await put('{"a":1}', { 'If-Match': '"1"', 'Content-Type': contentType })
    expect(response.status).toBe(415)
    expect(await problemOf(response)).toMatchObject({ code: 'unsupported_media_type' })
  })

  it('accepts application/json with a charset parameter', async () => {
    const { put } = await session()
    const headers = { 'If-Match': '"1"', 'Content-Type': 'application/json; charset=utf-8' }
    expect((await put('{"a":1}', headers)).status).toBe(200)
  })

  it.each([
    ['invalid JSON', '{"a":'],
    ['an empty body', ''],
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"text"'],
    ['a boolean', 'true'],
    ['two values', '{} {}'],
  ])('refuses %s with 400 invalid_body', async (_, body) => {
    const { put, id } = await session()
    const response = await put(body, { 'If-Match': '"1"' })
    expect(response.status).toBe(400)
    expect(await problemOf(response)).toMatchObject({ code: 'invalid_body' })
    expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
  })

  it('refuses a body that is not UTF-8 with 400 invalid_body', async () => {
    const { put } = await session()
    const bytes = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])
    const response = await put(bytes, { 'If-Match': '"1"' })
    expect(response.status).toBe(400)
    expect(await problemOf(response)).toMatchObject({ code: 'invalid_body' })
  })

  it('of 100 parallel PUTs from one version exactly one wins, the rest get 412', async () => {
    const { put, get, id } = await session()
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, writer) =>
        put(JSON.stringify({ writer }), { 'If-Match': '"1"' })
      )
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 412)).toHaveLength(99)

    const winner = await responses[statuses.indexOf(200)]!.json<DataReply>()
    expect(winner.version).toBe(2)
    expect(await stored(id)).toEqual({ data: JSON.stringify(winner.data), data_version: 2 })
    expect(await (await get()).json()).toEqual(winner)
  })

  it('writes with one conditional UPDATE and no read', async () => {
    const db = tapDb()
    const { put } = await session(harness({ DB: db.binding }))
    db.prepared.length = 0
    expect((await put('{"a":1}', { 'If-Match': '"1"' })).status).toBe(200)
    expect(db.prepared).toHaveLength(1)
    expect(db.prepared[0]).toMatch(
      /^UPDATE sessions SET data = \?3, data_version = data_version \+ 1/
    )
    expect(db.prepared[0]).toMatch(/AND data_version = \?4/)
    expect(reads(db.prepared)).toEqual([])
  })
})

describe('data of a session that has ended', () => {
  it('refuses data of a session ended with DELETE: 401 session_revoked', async () => {
    const { h, ip, token, get, put, id } = await session()
    await h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(token) })
    expect(await problemOf(await get())).toMatchObject({ code: 'session_revoked', status: 401 })
    const write = await put('{"a":1}', { 'If-Match': '"1"' })
    expect(await problemOf(write)).toMatchObject({ code: 'session_revoked' })
    expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
  })

  it('refuses data of a session revoked in D1 only, even in fast mode: data always reads D1', async () => {
    const { h, get, put, id } = await session()
    await env.DB.prepare('UPDATE sessions SET revoked_at = ?2 WHERE id = ?1').bind(id, T0).run()
    h.now = T0 + 10
    expect(await problemOf(await get())).toMatchObject({ code: 'session_revoked' })
    const write = await put('{"a":1}', { 'If-Match': '"1"' })
    expect(await problemOf(write)).toMatchObject({ code: 'session_revoked' })
    expect(await stored(id)).toEqual({ data: '{}', data_version: 1 })
  })

  it('refuses data of an idle-expired session: 401 session_expired', async () => {
    const { h, get, put } = await session()
    h.now = T0 + 1800
    expect(await problemOf(await get())).toMatchObject({ code: 'session_expired' })
    const write = await put('{"a":1}', { 'If-Match': '"1"' })
    expect(await problemOf(write)).toMatchObject({ code: 'session_expired' })
  })

  it('refuses data past the absolute deadline: 401 session_expired', async () => {
    const h = harness({ MAX_AGE_SECONDS: '100' })
    const { get } = await session(h)
    h.now = T0 + 100
    expect(await problemOf(await get())).toMatchObject({ code: 'session_expired' })
  })

  it('serves data on a live token although a failed slide left D1 with the older deadline', async () => {
    const db = tapDb()
    const h = harness({ DB: db.binding })
    const { ip, token, id } = await session(h)
    db.fail = (sql) => (sql.startsWith('UPDATE sessions SET last_seen_at') ? 'throw' : undefined)
    h.now = T0 + 1000
    const slid = await h.fetch('/v1/session', { ip, headers: bearer(token) })
    const fresh = slid.headers.get('Session-Token')!
    const row = await env.DB.prepare('SELECT idle_expires_at FROM sessions WHERE id = ?1')
      .bind(id)
      .first<{ idle_expires_at: number }>()
    expect(row!.idle_expires_at).toBe(T0 + 1800)

    h.now = T0 + 2500
    const read = await h.fetch('/v1/session/data', { ip, headers: bearer(fresh) })
    expect(read.status).toBe(200)
  })
})
