/**
 * The storage a request works with: the D1 and KV bindings, the creation limiter, and the
 * isolate's slide queue, made once per Worker env so that slides of one session coalesce across
 * requests.
 */
import type { Config } from '../config'
import { logEvent, sessionRef } from '../log'
import { SlideQueue } from './slides'
import { touchSession } from './store'

export type Storage = {
  db: D1Database
  kv: KVNamespace
  limiter: RateLimit | undefined
  slides: SlideQueue
}

const storages = new WeakMap<Env, Storage>()

/**
 * The bindings and the slide queue of one Worker env.
 * @example const { db, kv, slides } = storageFor(env, loadConfig(env))
 */
export function storageFor(env: Env, config: Config): Storage {
  let storage = storages.get(env)
  if (storage === undefined) {
    const db = env.DB
    const slides = new SlideQueue(
      (id, lastSeenAt, deadline) =>
        touchSession(db, id, lastSeenAt, deadline, config.refreshAfterSeconds),
      (id, error) => logEvent('slide_failed', { sid: sessionRef(id), cause: causeName(error) })
    )
    storage = { db, kv: env.REVOCATIONS, limiter: env.CREATE_LIMITER, slides }
    storages.set(env, storage)
  }
  return storage
}

function causeName(error: unknown): string | undefined {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  return cause instanceof Error ? cause.name : undefined
}
