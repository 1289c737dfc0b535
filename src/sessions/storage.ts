/**
 * The storage a request works with: D1, KV and the creation limiter, each call bounded in time,
 * and the isolate's slide queue. A call still pending after STORAGE_TIMEOUT_MS rejects with
 * StorageTimeoutError, which guardStorage answers as 503 storage_unavailable like any failure, so
 * a hung D1 or KV never holds a request open.
 *
 * Trade-off accepted: a binding call cannot be cancelled, so a write that timed out may still land
 * after its client was told 503. Every write here is conditional or idempotent, so the retry that
 * the 503 asks for is safe.
 */
import type { Config } from '../config'
import { logEvent, sessionRef } from '../log'
import { SlideQueue } from './slides'
import { touchSession } from './store'

export class StorageTimeoutError extends Error {
  override name = 'StorageTimeoutError'
}

export type Storage = {
  db: D1Database
  kv: KVNamespace
  limiter: RateLimit | undefined
  slides: SlideQueue
}

const storages = new WeakMap<Env, Storage>()

/**
 * The bounded bindings and the slide queue of one Worker env, made once per env so that slides of
 * one session coalesce across requests.
 * @example const { db, kv, slides } = storageFor(env, loadConfig(env))
 */
export function storageFor(env: Env, config: Config): Storage {
  let storage = storages.get(env)
  if (storage === undefined) {
    const ms = config.storageTimeoutMs
    const db = bounded(env.DB, ms)
    const slides = new SlideQueue(
      (id, lastSeenAt, deadline) =>
        touchSession(db, id, lastSeenAt, deadline, config.refreshAfterSeconds),
      (id, error) => logEvent('slide_failed', { sid: sessionRef(id), cause: causeName(error) })
    )
    const limiter = env.CREATE_LIMITER && bounded(env.CREATE_LIMITER, ms)
    storage = { db, kv: bounded(env.REVOCATIONS, ms), limiter, slides }
    storages.set(env, storage)
  }
  return storage
}

function causeName(error: unknown): string | undefined {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  return cause instanceof Error ? cause.name : undefined
}

const originals = new WeakMap<object, object>()

/**
 * Wraps a binding so that every promise its methods return settles within `ms`, and so do those of
 * the objects they hand out (a D1 statement and its bound copies). Wrapped arguments are unwrapped
 * on the way in, as `db.batch` needs its own statements.
 * @example const db = bounded(env.DB, 5000) // db.prepare(sql).first() rejects after 5 s
 */
export function bounded<T extends object>(binding: T, ms: number): T {
  const proxy = new Proxy(binding, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') {
        return value
      }
      return (...args: unknown[]) => settle(value.apply(target, args.map(original)), ms)
    },
  })
  originals.set(proxy, binding)
  return proxy
}

function settle(result: unknown, ms: number): unknown {
  if (result instanceof Promise) {
    return within(result, ms)
  }
  return typeof result === 'object' && result !== null ? bounded(result, ms) : result
}

function original(arg: unknown): unknown {
  if (Array.isArray(arg)) {
    return arg.map(original)
  }
  return (typeof arg === 'object' && arg !== null && originals.get(arg)) || arg
}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer = 0
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}
