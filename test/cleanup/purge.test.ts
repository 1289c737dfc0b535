import { createScheduledController } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PURGE_CHUNK_ROWS, purgeEndedSessions, type PurgeOptions } from '../../src/cleanup'
import worker from '../../src/index'
import { T0 } from '../helpers/harness'
import { clearSessions, seedSessions, type Seed } from '../admin/seed'

const NOW = T0 + 100_000
const RETENTION = 86_400
const CUTOFF = NOW - RETENTION

/** Sessions that ended more than RETENTION seconds before NOW, by each way of ending. */
function dueSeeds(count: number): Seed[] {
  return Array.from({ length: count }, (_, i) => {
    const ended = CUTOFF - 1 - (i % 997)
    const created = ended - 3000
    switch (i % 3) {
      case 0:
        return { createdAt: created, idleExpiresAt: ended, absoluteExpiresAt: created + 43_200 }
      case 1:
        return { createdAt: created, idleExpiresAt: ended, absoluteExpiresAt: ended }
      default:
        return {
          createdAt: created,
          idleExpiresAt: NOW + 600,
          absoluteExpiresAt: NOW + 6000,
          revokedAt: ended,
        }
    }
  })
}

function liveSeeds(count: number): Seed[] {
  return Array.from({ length: count }, (_, i) => ({
    createdAt: NOW - 100 - i,
    idleExpiresAt: NOW + 1 + (i % 1800),
    absoluteExpiresAt: NOW + 40_000,
  }))
}

/** Sessions that ended, but RETENTION seconds ago or less: from exactly at the cutoff to now. */
function recentSeeds(): Seed[] {
  const idle = Array.from({ length: 300 }, (_, i) => ({
    createdAt: CUTOFF - 2000,
    idleExpiresAt: CUTOFF + i * 200,
    absoluteExpiresAt: CUTOFF + 40_000,
  }))
  const revoked = Array.from({ length: 100 }, (_, i) => ({
    createdAt: CUTOFF - 2000,
    idleExpiresAt: NOW + 600,
    absoluteExpiresAt: NOW + 6000,
    revokedAt: CUTOFF + i * 500,
  }))
  return [...idle, ...revoked]
}

async function remainingIds(): Promise<Set<string>> {
  const { results } = await env.DB.prepare('SELECT id FROM sessions').all<{ id: string }>()
  return new Set(results.map((row) => row.id))
}

async function countDue(): Promise<number> {
  const row = await env.DB.prepare(
    'SELECT count(*) AS n FROM sessions WHERE idle_expires_at < ?1 OR absolute_expires_at < ?1 ' +
      'OR revoked_at < ?1'
  )
    .bind(CUTOFF)
    .first<{ n: number }>()
  return row!.n
}

/** A clock that moves `stepMs` each time it is read. */
function steppingClock(stepMs: number): () => number {
  let now = 0
  return () => (now += stepMs)
}

function options(overrides: Partial<PurgeOptions> = {}): PurgeOptions {
  return {
    db: env.DB,
    now: NOW,
    retentionSeconds: RETENTION,
    clockMs: steppingClock(1),
    ...overrides,
  }
}

/** The real binding, with every DELETE's row count and bound parameter count recorded. */
function recording(db: D1Database) {
  const deletes: Array<{ params: number; changes: number }> = []
  const statements: string[] = []
  const wrapped = {
    prepare(sql: string) {
      statements.push(sql)
      const statement = db.prepare(sql)
      return {
        bind(...params: unknown[]) {
          const bound = statement.bind(...params)
          return {
            async run() {
              const result = await bound.run()
              deletes.push({ params: params.length, changes: result.meta.changes })
              return result
            },
          }
        },
      }
    },
  }
  return { db: wrapped as unknown as D1Database, deletes, statements }
}

/** The real binding, failing every statement after the first `ok` ones. */
function failingAfter(db: D1Database, ok: number): D1Database {
  let prepared = 0
  return {
    prepare(sql: string) {
      if (prepared++ >= ok) {
        throw new Error('D1 is down')
      }
      return db.prepare(sql)
    },
  } as unknown as D1Database
}

function captureLogs(): string[] {
  const lines: string[] = []
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '))
  })
  return lines
}

beforeEach(async () => {
  await clearSessions(env.DB)
})

afterEach(() => {
  vi.restoreAllMocks()
})

describe('purgeEndedSessions', () => {
  it('deletes 5,000 sessions ended beyond retention, keeps 2,000 live and 400 recent', async () => {
    const due = await seedSessions(env.DB, dueSeeds(5000))
    const kept = [
      ...(await seedSessions(env.DB, liveSeeds(2000))),
      ...(await seedSessions(env.DB, recentSeeds())),
    ]
    const report = await purgeEndedSessions(options())
    expect(report).toEqual({ deleted: 5000, chunks: 11, complete: true, failed: false })
    const remaining = await remainingIds()
    expect(remaining).toEqual(new Set(kept))
    expect(due.some((id) => remaining.has(id))).toBe(false)
  })

  it('keeps a session ended exactly RETENTION_SECONDS ago, drops one a second older', async () => {
    const [atCutoff] = await seedSessions(env.DB, [
      { createdAt: CUTOFF - 10, idleExpiresAt: CUTOFF, absoluteExpiresAt: CUTOFF + 10 },
      { createdAt: CUTOFF - 10, idleExpiresAt: CUTOFF - 1, absoluteExpiresAt: CUTOFF + 10 },
    ])
    expect(await purgeEndedSessions(options())).toMatchObject({ deleted: 1, complete: true })
    expect(await remainingIds()).toEqual(new Set([atCutoff]))
  })

  it('deletes at most 500 rows per statement with two bound parameters', async () => {
    await seedSessions(env.DB, dueSeeds(1750))
    const { db, deletes } = recording(env.DB)
    const report = await purgeEndedSessions(options({ db }))
    expect(report).toMatchObject({ deleted: 1750, chunks: 4, complete: true })
    expect(deletes).toEqual([
      { params: 2, changes: PURGE_CHUNK_ROWS },
      { params: 2, changes: PURGE_CHUNK_ROWS },
      { params: 2, changes: PURGE_CHUNK_ROWS },
      { params: 2, changes: 250 },
    ])
  })

  it('finds due rows through indexes, never by scanning the table', async () => {
    const { db, statements } = recording(env.DB)
    await purgeEndedSessions(options({ db }))
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statements[0]}`)
      .bind(CUTOFF, PURGE_CHUNK_ROWS)
      .all<{ detail: string }>()
    const steps = plan.results.map((row) => row.detail)
    expect(steps).toContain('MULTI-INDEX OR')
    expect(steps.filter((step) => step.startsWith('SCAN'))).toEqual([])
  })

  it('starts no chunk once the time budget is spent; the next run finishes', async () => {
    await seedSessions(env.DB, dueSeeds(5000))
    await seedSessions(env.DB, liveSeeds(2000))
    const slow = await purgeEndedSessions(
      options({ clockMs: steppingClock(5000), budgetMs: 20_000 })
    )
    expect(slow).toEqual({ deleted: 1500, chunks: 3, complete: false, failed: false })
    expect(await countDue()).toBe(3500)
    const next = await purgeEndedSessions(options())
    expect(next).toMatchObject({ deleted: 3500, complete: true })
    expect(await countDue()).toBe(0)
    expect((await remainingIds()).size).toBe(2000)
  })

  it('runs at least one chunk even when each clock reading spends the whole budget', async () => {
    await seedSessions(env.DB, dueSeeds(700))
    const report = await purgeEndedSessions(
      options({ clockMs: steppingClock(10_000), budgetMs: 20_000 })
    )
    expect(report).toMatchObject({ deleted: 500, chunks: 1, complete: false })
  })

  it('stops after the chunk cap', async () => {
    await seedSessions(env.DB, dueSeeds(3000))
    const report = await purgeEndedSessions(options({ maxChunks: 4 }))
    expect(report).toEqual({ deleted: 2000, chunks: 4, complete: false, failed: false })
    expect(await countDue()).toBe(1000)
  })

  it('reports a storage failure with the rows it deleted before it', async () => {
    await seedSessions(env.DB, dueSeeds(1500))
    const report = await purgeEndedSessions(options({ db: failingAfter(env.DB, 2) }))
    expect(report).toEqual({ deleted: 1000, chunks: 2, complete: false, failed: true })
    expect(await countDue()).toBe(500)
  })
})

describe('scheduled handler', () => {
  function run(settings: Partial<Env>, scheduledTimeMs: number) {
    const controller = createScheduledController({
      scheduledTime: scheduledTimeMs,
      cron: '*/10 * * * *',
    })
    return worker.scheduled(controller, { ...env, ...settings } as Env)
  }

  it('purges by RETENTION_SECONDS at the scheduled time and logs one line, the count', async () => {
    await seedSessions(env.DB, dueSeeds(400))
    const kept = [
      ...(await seedSessions(env.DB, liveSeeds(300))),
      ...(await seedSessions(env.DB, recentSeeds())),
    ]
    const lines = captureLogs()
    await run({ RETENTION_SECONDS: String(RETENTION) }, NOW * 1000 + 999)
    expect(await remainingIds()).toEqual(new Set(kept))
    const purged = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(purged).toEqual([
      { event: 'sessions_purged', deleted: 400, chunks: 1, complete: true, failed: false },
    ])
  })

  it('reads RETENTION_SECONDS from the settings', async () => {
    await seedSessions(env.DB, recentSeeds())
    await run({ RETENTION_SECONDS: '0' }, NOW * 1000)
    expect((await remainingIds()).size).toBe(0)
  })

  it('fails the run after logging it when D1 fails', async () => {
    await seedSessions(env.DB, dueSeeds(10))
    const lines = captureLogs()
    await expect(run({ DB: failingAfter(env.DB, 0) }, NOW * 1000)).rejects.toThrow(
      'session purge stopped by a storage failure'
    )
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { event: 'sessions_purged', deleted: 0, chunks: 0, complete: false, failed: true },
    ])
    expect(await countDue()).toBe(10)
  })

  it('fails loudly on a bad RETENTION_SECONDS, naming the setting', async () => {
    await seedSessions(env.DB, dueSeeds(10))
    const lines = captureLogs()
    await expect(run({ RETENTION_SECONDS: 'a day' }, NOW * 1000)).rejects.toThrow(
      'RETENTION_SECONDS'
    )
    expect(JSON.parse(lines[0]!)).toMatchObject({
      event: 'configuration_error',
      setting: 'RETENTION_SECONDS',
    })
    expect(await countDue()).toBe(10)
  })
})
