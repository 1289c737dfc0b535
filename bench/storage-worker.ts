/**
 * The product's Worker with its D1 and KV bindings wrapped to count what they do, for the storage
 * bench (bench/storage.mjs runs it through `npm start` in place of src/index.ts). The app, its
 * config and its slide queue are the real ones; only the bindings are wrapped, once per isolate.
 *
 * D1 rows are D1's own count: `meta.rows_written` and `meta.rows_read` of every statement. A
 * `first()` without a column name runs as `all()` and returns the first row, which is the same
 * statement with the same effect, so that its meta can be read too.
 *
 * `GET /__bench/counts` answers the running totals and the D1 and KV operations still in flight;
 * `GET /__bench/deadlines` every session's idle deadline, read past the counters.
 */
import { createApp } from '../src/http/app'

type Counts = {
  d1Statements: number
  d1RowsWritten: number
  d1RowsRead: number
  d1Failures: number
  kvReads: number
  kvWrites: number
  kvDeletes: number
  kvLists: number
  inFlight: number
}

const counts: Counts = {
  d1Statements: 0,
  d1RowsWritten: 0,
  d1RowsRead: 0,
  d1Failures: 0,
  kvReads: 0,
  kvWrites: 0,
  kvDeletes: 0,
  kvLists: 0,
  inFlight: 0,
}

const app = createApp()
const wrapped = new WeakMap<Env, Env>()

async function tracked<T>(run: () => Promise<T>): Promise<T> {
  counts.inFlight++
  try {
    return await run()
  } finally {
    counts.inFlight--
  }
}

function countMeta(meta: { rows_written?: number; rows_read?: number } | undefined): void {
  counts.d1Statements++
  counts.d1RowsWritten += meta?.rows_written ?? 0
  counts.d1RowsRead += meta?.rows_read ?? 0
}

async function counted<T extends D1Result>(run: () => Promise<T>): Promise<T> {
  try {
    const result = await tracked(run)
    countMeta(result.meta)
    return result
  } catch (error) {
    counts.d1Failures++
    throw error
  }
}

function countingStatement(statement: D1PreparedStatement): D1PreparedStatement {
  const wrapper = {
    bind: (...values: unknown[]) => countingStatement(statement.bind(...values)),
    run: () => counted(() => statement.run()),
    all: () => counted(() => statement.all()),
    first: async (column?: string) => {
      const result = await counted(() => statement.all<Record<string, unknown>>())
      const row = result.results[0] ?? null
      return column === undefined || row === null ? row : (row[column] ?? null)
    },
    raw: (options?: { columnNames?: boolean }) => {
      counts.d1Statements++
      return statement.raw(options as { columnNames: true })
    },
  }
  return wrapper as unknown as D1PreparedStatement
}

function countingDb(db: D1Database): D1Database {
  const wrapper = {
    prepare: (query: string) => countingStatement(db.prepare(query)),
    batch: async (statements: D1PreparedStatement[]) => {
      const results = await tracked(() => db.batch(statements))
      results.forEach((result) => countMeta(result.meta))
      return results
    },
    exec: (query: string) => db.exec(query),
    dump: () => db.dump(),
    withSession: () => {
      throw new Error('the storage bench does not wrap D1 sessions')
    },
  }
  return wrapper as unknown as D1Database
}

function countingKv(kv: KVNamespace): KVNamespace {
  const wrapper = {
    get: (...args: unknown[]) => {
      counts.kvReads++
      return tracked(() => (kv.get as (...a: unknown[]) => Promise<unknown>)(...args))
    },
    getWithMetadata: (...args: unknown[]) => {
      counts.kvReads++
      return tracked(() => (kv.getWithMetadata as (...a: unknown[]) => Promise<unknown>)(...args))
    },
    put: (...args: Parameters<KVNamespace['put']>) => {
      counts.kvWrites++
      return tracked(() => kv.put(...args))
    },
    delete: (key: string) => {
      counts.kvDeletes++
      return tracked(() => kv.delete(key))
    },
    list: (...args: Parameters<KVNamespace['list']>) => {
      counts.kvLists++
      return tracked(() => kv.list(...args))
    },
  }
  return wrapper as unknown as KVNamespace
}

function countingEnv(env: Env): Env {
  let out = wrapped.get(env)
  if (out === undefined) {
    out = { ...env, DB: countingDb(env.DB), REVOCATIONS: countingKv(env.REVOCATIONS) }
    wrapped.set(env, out)
  }
  return out
}

async function deadlines(db: D1Database): Promise<Response> {
  const { results } = await db
    .prepare('SELECT id, idle_expires_at FROM sessions')
    .all<{ id: string; idle_expires_at: number }>()
  return Response.json(Object.fromEntries(results.map((row) => [row.id, row.idle_expires_at])))
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const path = new URL(request.url).pathname
    if (path === '/__bench/counts') {
      return Response.json(counts)
    }
    if (path === '/__bench/deadlines') {
      return deadlines(env.DB)
    }
    return app.fetch(request, countingEnv(env), ctx)
  },
} satisfies ExportedHandler<Env>
