/**
 * The scheduled purge: deletes sessions that ended (idle, absolute or revoked) more than
 * RETENTION_SECONDS ago, a bounded chunk per DELETE, and stops starting chunks when its time or
 * chunk budget is spent; the next cron run carries on where this one stopped.
 *
 * Purging a revoked row does not revive its tokens: the KV entry keeps its own TTL past the
 * session's absolute deadline, and REVOCATION=strict refuses a session D1 no longer knows.
 */
import { ConfigError, loadConfig } from './config'
import { logEvent } from './log'
import { purgeEnded } from './sessions/store'

/**
 * Rows per DELETE: keeps each statement to a few milliseconds of D1 work, far inside D1's
 * 30 s per-query limit, and holds the database's single writer only briefly.
 */
export const PURGE_CHUNK_ROWS = 500
/**
 * DELETEs per run: D1 allows 50 queries per Worker invocation on the Free plan (1,000 on Paid);
 * 40 leaves room and still clears 20,000 rows per run, 2.88 million a day at one run per 10 min.
 */
export const PURGE_MAX_CHUNKS = 40
/** No chunk starts after 20 s: a run stays short next to the 10-minute cron interval. */
export const PURGE_BUDGET_MS = 20_000

export type PurgeOptions = {
  db: D1Database
  /** Unix seconds; rows that ended before now - retentionSeconds go. */
  now: number
  retentionSeconds: number
  /** Milliseconds, read before each chunk to check the budget. */
  clockMs: () => number
  budgetMs?: number
  maxChunks?: number
  chunkRows?: number
}

export type PurgeReport = {
  deleted: number
  chunks: number
  /** True when nothing that is due was left behind. */
  complete: boolean
  /** True when a DELETE failed; the rows of earlier chunks are gone all the same. */
  failed: boolean
}

/**
 * Deletes ended sessions chunk by chunk until none are due or the budget is spent. A storage
 * failure ends the run with `failed` set and the count so far.
 * @example await purgeEndedSessions({ db, now, retentionSeconds: 86400, clockMs: Date.now })
 */
export async function purgeEndedSessions(options: PurgeOptions): Promise<PurgeReport> {
  const budgetMs = options.budgetMs ?? PURGE_BUDGET_MS
  const maxChunks = options.maxChunks ?? PURGE_MAX_CHUNKS
  const chunkRows = options.chunkRows ?? PURGE_CHUNK_ROWS
  const cutoff = options.now - options.retentionSeconds
  const started = options.clockMs()
  const report: PurgeReport = { deleted: 0, chunks: 0, complete: false, failed: false }
  while (report.chunks < maxChunks && options.clockMs() - started < budgetMs) {
    const deleted = await purgeEnded(options.db, cutoff, chunkRows).catch(() => undefined)
    if (deleted === undefined) {
      report.failed = true
      break
    }
    report.deleted += deleted
    report.chunks++
    if (deleted < chunkRows) {
      report.complete = true
      break
    }
  }
  return report
}

/**
 * The cron run: purges with the settings in `env` and the scheduled time as "now", and logs one
 * line with the count. A failed run throws after its log line, so the cron shows as failed.
 * @example scheduled: (controller, env) => runCleanup(env, controller.scheduledTime)
 */
export async function runCleanup(
  env: Env,
  scheduledTimeMs: number,
  clockMs: () => number = Date.now
): Promise<PurgeReport> {
  const retentionSeconds = retention(env)
  const report = await purgeEndedSessions({
    db: env.DB,
    now: Math.floor(scheduledTimeMs / 1000),
    retentionSeconds,
    clockMs,
  })
  logEvent('sessions_purged', report)
  if (report.failed) {
    throw new Error('session purge stopped by a storage failure')
  }
  return report
}

function retention(env: Env): number {
  try {
    return loadConfig(env).retentionSeconds
  } catch (error) {
    if (error instanceof ConfigError) {
      logEvent('configuration_error', { setting: error.setting, detail: error.message })
    }
    throw error
  }
}
