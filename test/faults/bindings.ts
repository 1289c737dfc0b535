/**
 * Taps on the real local bindings: every call goes through to the real D1 or KV unless the test's
 * rule says this one fails, by throwing or by never settling. The D1 tap also records the SQL of
 * every statement prepared, and a trigger counts the rows each session's UPDATEs really write.
 */
import { env } from 'cloudflare:workers'

/** What an injected fault does: throw at once, or never settle. */
export type Fault = 'throw' | 'hang' | undefined

export class InjectedFault extends Error {
  override name = 'InjectedFault'
}

export type DbTap = {
  binding: D1Database
  /** SQL of every statement prepared, in order. */
  prepared: string[]
  /** Decides, per statement run, whether it fails. */
  fail: ((sql: string) => Fault) | undefined
}

export type KvTap = {
  binding: KVNamespace
  /** `method key` of every call, in order. */
  calls: string[]
  fail: ((method: string, key: string) => Fault) | undefined
}

const sqlOf = new WeakMap<object, { statement: D1PreparedStatement; sql: string }>()

/**
 * A D1 tap over the real local database.
 * @example const db = tapDb(); db.fail = (sql) => (sql.startsWith('UPDATE') ? 'throw' : undefined)
 */
export function tapDb(real: D1Database = env.DB): DbTap {
  const tap: DbTap = { binding: real, prepared: [], fail: undefined }
  tap.binding = new Proxy(real, {
    get(target, property) {
      if (property === 'prepare') {
        return (sql: string) => {
          tap.prepared.push(sql)
          return tapStatement(target.prepare(sql), sql, tap)
        }
      }
      if (property === 'batch') {
        return (statements: D1PreparedStatement[]) => {
          const entries = statements.map((s) => sqlOf.get(s)!)
          const fault = entries.map((e) => tap.fail?.(e.sql)).find((f) => f !== undefined)
          return inject(fault, 'D1 batch', () => target.batch(entries.map((e) => e.statement)))
        }
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return tap
}

function tapStatement(
  statement: D1PreparedStatement,
  sql: string,
  tap: DbTap
): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, property) {
      if (property === 'bind') {
        return (...values: unknown[]) => tapStatement(target.bind(...values), sql, tap)
      }
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') {
        return value
      }
      return (...args: unknown[]) =>
        inject(tap.fail?.(sql), 'D1 statement', () => value.apply(target, args))
    },
  })
  sqlOf.set(proxy, { statement, sql })
  return proxy
}

/**
 * A KV tap over the real local namespace.
 * @example const kv = tapKv(); kv.fail = (method) => (method === 'get' ? 'throw' : undefined)
 */
export function tapKv(real: KVNamespace = env.REVOCATIONS): KvTap {
  const tap: KvTap = { binding: real, calls: [], fail: undefined }
  tap.binding = new Proxy(real, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') {
        return value
      }
      return (key: string, ...rest: unknown[]) => {
        const method = String(property)
        tap.calls.push(`${method} ${key}`)
        return inject(tap.fail?.(method, key), `KV ${method}`, () =>
          value.call(target, key, ...rest)
        )
      }
    },
  })
  return tap
}

function inject<T>(fault: Fault, what: string, run: () => T): T | Promise<never> {
  if (fault === 'throw') {
    return Promise.reject(new InjectedFault(`${what} failed (injected)`))
  }
  if (fault === 'hang') {
    return new Promise<never>(() => {})
  }
  return run()
}

/** Statements that read: every SELECT, and nothing else. */
export function reads(prepared: string[]): string[] {
  return prepared.filter((sql) => /^\s*SELECT/i.test(sql))
}

/**
 * Installs (once per database) a trigger that logs every row an UPDATE writes in the sessions
 * table, so tests count real row writes, not statements.
 */
export async function countRowWrites(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare('CREATE TABLE IF NOT EXISTS test_row_writes (session_id TEXT NOT NULL)'),
    env.DB.prepare(
      'CREATE TRIGGER IF NOT EXISTS test_count_row_writes AFTER UPDATE ON sessions ' +
        'BEGIN INSERT INTO test_row_writes (session_id) VALUES (NEW.id); END'
    ),
  ])
}

/** Rows written by UPDATEs of this session since countRowWrites was installed. */
export async function rowWrites(sessionId: string): Promise<number> {
  const row = await env.DB.prepare(
    'SELECT count(*) AS n FROM test_row_writes WHERE session_id = ?1'
  )
    .bind(sessionId)
    .first<{ n: number }>()
  return row!.n
}
