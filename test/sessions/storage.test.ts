import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ServiceError } from '../../src/errors'
import { bounded, StorageTimeoutError } from '../../src/sessions/storage'
import { findSession, guardStorage, STORAGE_RETRY_AFTER_SECONDS } from '../../src/sessions/store'
import { tapDb, tapKv } from '../faults/bindings'

const SHORT_MS = 20

describe('bounded bindings', () => {
  it('passes D1 results through: prepare, bind, first, and batch of its own statements', async () => {
    const db = bounded(env.DB, SHORT_MS * 50)
    expect(await db.prepare('SELECT ?1 AS n').bind(7).first()).toEqual({ n: 7 })
    const results = await db.batch([db.prepare('SELECT 1 AS a'), db.prepare('SELECT 2 AS b')])
    expect(results.map((r) => r.results)).toEqual([[{ a: 1 }], [{ b: 2 }]])
  })

  it('passes KV results through', async () => {
    const kv = bounded(env.REVOCATIONS, SHORT_MS * 50)
    await kv.put('bounded-test', 'x')
    expect(await kv.get('bounded-test')).toBe('x')
  })

  it('rejects a D1 statement that never settles with StorageTimeoutError', async () => {
    const tap = tapDb()
    tap.fail = () => 'hang'
    const db = bounded(tap.binding, SHORT_MS)
    await expect(db.prepare('SELECT 1').first()).rejects.toBeInstanceOf(StorageTimeoutError)
    await expect(db.batch([db.prepare('SELECT 1')])).rejects.toBeInstanceOf(StorageTimeoutError)
  })

  it('rejects a KV call that never settles with StorageTimeoutError', async () => {
    const tap = tapKv()
    tap.fail = () => 'hang'
    const kv = bounded(tap.binding, SHORT_MS)
    await expect(kv.get('anything')).rejects.toBeInstanceOf(StorageTimeoutError)
  })

  it('makes a hung store query a storage_unavailable ServiceError with a retry delay', async () => {
    const tap = tapDb()
    tap.fail = () => 'hang'
    const error = await findSession(bounded(tap.binding, SHORT_MS), 'some-id').catch((e) => e)
    expect(error).toBeInstanceOf(ServiceError)
    expect(error).toMatchObject({
      code: 'storage_unavailable',
      retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
    })
    expect((error as ServiceError).cause).toBeInstanceOf(StorageTimeoutError)
  })
})

describe('guardStorage', () => {
  it('returns the value of a call that succeeds', async () => {
    expect(await guardStorage('test', async () => 42)).toBe(42)
  })

  it.each([
    ['an Error', new Error('D1_ERROR: network connection lost')],
    ['a non-Error value', 'boom'],
  ])('turns %s into storage_unavailable', async (_, thrown) => {
    const error = await guardStorage('test', () => Promise.reject(thrown)).catch((e) => e)
    expect(error).toBeInstanceOf(ServiceError)
    expect(error.code).toBe('storage_unavailable')
    expect(error.message).not.toContain('network')
  })
})
