/**
 * Every D1 query of the sessions table, with numbered binds, returning domain rows. A D1 failure
 * becomes a `storage_unavailable` ServiceError here, so no caller reports a failed write as done.
 * Times are Unix seconds; schema.sql documents the columns.
 */
import { ServiceError } from '../errors'

export type SessionRow = {
  id: string
  clientKeyHash: string
  clientIp: string | null
  createdAt: number
  lastSeenAt: number
  idleExpiresAt: number
  absoluteExpiresAt: number
  revokedAt: number | null
  data: string
  dataVersion: number
}

type DbRow = {
  id: string
  client_key_hash: string
  client_ip: string | null
  created_at: number
  last_seen_at: number
  idle_expires_at: number
  absolute_expires_at: number
  revoked_at: number | null
  data: string
  data_version: number
}

/** Seconds a client is asked to wait after a storage failure before retrying. */
export const STORAGE_RETRY_AFTER_SECONDS = 5

const COLUMNS =
  'id, client_key_hash, client_ip, created_at, last_seen_at, idle_expires_at, ' +
  'absolute_expires_at, revoked_at, data, data_version'

const LIVE = 'revoked_at IS NULL AND idle_expires_at > ?2 AND absolute_expires_at > ?2'

/**
 * What session data reads and writes require of the row at ?2: not revoked, absolute deadline not
 * passed. The idle deadline is settled before, by the request's authentication (its token or D1);
 * D1's copy may trail a live token by a refresh interval or by a slide that failed.
 */
const OPEN = 'revoked_at IS NULL AND absolute_expires_at > ?2'

function toRow(row: DbRow): SessionRow {
  return {
    id: row.id,
    clientKeyHash: row.client_key_hash,
    clientIp: row.client_ip,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    revokedAt: row.revoked_at,
    data: row.data,
    dataVersion: row.data_version,
  }
}

/** Runs one D1 operation and turns any failure into `storage_unavailable`. */
export async function guardStorage<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (cause) {
    throw new ServiceError('storage_unavailable', `${what} failed`, {
      cause,
      retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
    })
  }
}

export function findSession(db: D1Database, id: string): Promise<SessionRow | null> {
  return guardStorage('D1 read', async () => {
    const row = await db
      .prepare(`SELECT ${COLUMNS} FROM sessions WHERE id = ?1`)
      .bind(id)
      .first<DbRow>()
    return row === null ? null : toRow(row)
  })
}

/** The newest live session of a client key. */
export function findLiveByClient(
  db: D1Database,
  clientKeyHash: string,
  now: number
): Promise<SessionRow | null> {
  return guardStorage('D1 read', async () => {
    const row = await db
      .prepare(
        `SELECT ${COLUMNS} FROM sessions WHERE client_key_hash = ?1 AND ${LIVE} ` +
          'ORDER BY created_at DESC, id DESC LIMIT 1'
      )
      .bind(clientKeyHash, now)
      .first<DbRow>()
    return row === null ? null : toRow(row)
  })
}

/**
 * Inserts a session. With `onlyIfClientHasNone`, the insert happens only when the client key has
 * no live session, in the same statement, so two parallel starts from one client make one session.
 * Returns whether the row was written.
 */
export function insertSession(
  db: D1Database,
  row: SessionRow,
  onlyIfClientHasNone: boolean
): Promise<boolean> {
  const guard = onlyIfClientHasNone
    ? `WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE client_key_hash = ?2 AND ${LIVE.replaceAll('?2', '?4')})`
    : ''
  return guardStorage('D1 write', async () => {
    const result = await db
      .prepare(
        `INSERT INTO sessions (${COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, 1 ${guard}`
      )
      .bind(
        row.id,
        row.clientKeyHash,
        row.clientIp,
        row.createdAt,
        row.lastSeenAt,
        row.idleExpiresAt,
        row.absoluteExpiresAt,
        row.data
      )
      .run()
    return result.meta.changes === 1
  })
}

/**
 * The smallest move of an idle deadline worth a D1 write: the refresh interval, and at least one
 * second, since deadlines are whole seconds.
 */
function stepOf(refreshAfterSeconds: number): number {
  return Math.max(1, refreshAfterSeconds)
}

/**
 * Slides a session that a live token already vouches for: moves its idle deadline forward by at
 * least `refreshAfterSeconds` (and at least a second), never back, and never on a revoked row.
 * A smaller move is skipped, so a session's row is written at most once per refresh interval
 * whichever of its tokens its clients present.
 * @example await touchSession(db, id, now, now + 1800, 60)
 */
export function touchSession(
  db: D1Database,
  id: string,
  lastSeenAt: number,
  idleExpiresAt: number,
  refreshAfterSeconds = 0
): Promise<void> {
  return guardStorage('D1 write', async () => {
    await db
      .prepare(
        'UPDATE sessions SET last_seen_at = max(last_seen_at, ?2), idle_expires_at = ?3 ' +
          'WHERE id = ?1 AND revoked_at IS NULL AND idle_expires_at <= ?3 - ?4'
      )
      .bind(id, lastSeenAt, idleExpiresAt, stepOf(refreshAfterSeconds))
      .run()
  })
}

/**
 * Slides a session if D1 shows it alive at `now` and the new deadline (capped by the absolute one)
 * moves it by at least `refreshAfterSeconds` (and at least a second), in one conditional UPDATE;
 * after a smaller move it only reads the row. Returns the live row, or null when it is missing,
 * expired or revoked.
 * @example const row = await touchIfAlive(db, id, now, Math.min(now + 1800, maxExp), 60)
 */
export async function touchIfAlive(
  db: D1Database,
  id: string,
  now: number,
  idleExpiresAt: number,
  refreshAfterSeconds = 0
): Promise<SessionRow | null> {
  const slid = await guardStorage('D1 write', async () => {
    const row = await db
      .prepare(
        'UPDATE sessions SET last_seen_at = ?2, idle_expires_at = min(?3, absolute_expires_at) ' +
          `WHERE id = ?1 AND ${LIVE} AND min(?3, absolute_expires_at) - idle_expires_at >= ?4 ` +
          `RETURNING ${COLUMNS}`
      )
      .bind(id, now, idleExpiresAt, stepOf(refreshAfterSeconds))
      .first<DbRow>()
    return row === null ? null : toRow(row)
  })
  return slid ?? findLive(db, id, now)
}

/** Reads a session only if it is alive at `now`. */
export function findLive(db: D1Database, id: string, now: number): Promise<SessionRow | null> {
  return guardStorage('D1 read', async () => {
    const row = await db
      .prepare(`SELECT ${COLUMNS} FROM sessions WHERE id = ?1 AND ${LIVE}`)
      .bind(id, now)
      .first<DbRow>()
    return row === null ? null : toRow(row)
  })
}

/** Marks a session revoked; returns the row (revoked now or before), or null when unknown. */
export function revokeSession(db: D1Database, id: string, now: number): Promise<SessionRow | null> {
  return guardStorage('D1 write', async () => {
    const row = await db
      .prepare(
        `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1 RETURNING ${COLUMNS}`
      )
      .bind(id, now)
      .first<DbRow>()
    return row === null ? null : toRow(row)
  })
}

export type ClientRevocation = {
  /** How many sessions this call revoked. */
  revoked: number
  /** Every session of the client not past its absolute deadline, revoked now or before. */
  unexpired: SessionRow[]
}

/**
 * Revokes every session of the given client-key hashes that is not past its absolute deadline,
 * in one transaction. Returns how many this call revoked and all of those sessions, including
 * ones revoked before, so that a retry after a failed KV write lists every one of them again.
 */
export function revokeClientSessions(
  db: D1Database,
  clientKeyHashes: readonly string[],
  now: number
): Promise<ClientRevocation> {
  const binds: Array<string | number> = [now]
  const param = bindParam(binds)
  const hashes = clientKeyHashes.map(param).join(', ')
  const where = `client_key_hash IN (${hashes}) AND absolute_expires_at > ?1`
  return guardStorage('D1 write', async () => {
    const [counted, updated] = await db.batch([
      db
        .prepare(`SELECT count(*) AS n FROM sessions WHERE ${where} AND revoked_at IS NULL`)
        .bind(...binds),
      db
        .prepare(
          'UPDATE sessions SET revoked_at = coalesce(revoked_at, ?1) ' +
            `WHERE ${where} RETURNING ${COLUMNS}`
        )
        .bind(...binds),
    ])
    const revoked = (counted!.results[0] as { n: number }).n
    return { revoked, unexpired: (updated!.results as DbRow[]).map(toRow) }
  })
}

/** Returns a function that appends a value to `binds` and names it as a numbered parameter. */
function bindParam(binds: Array<string | number>): (value: string | number) => string {
  return (value) => {
    binds.push(value)
    return `?${binds.length}`
  }
}

export type DataRow = { data: string; dataVersion: number }

/**
 * Reads an open session's data and its version; null when the session is revoked, past its
 * absolute deadline or unknown.
 * @example const row = await findData(db, id, now) // { data: '{}', dataVersion: 1 }
 */
export function findData(db: D1Database, id: string, now: number): Promise<DataRow | null> {
  return guardStorage('D1 read', async () => {
    const row = await db
      .prepare(`SELECT data, data_version FROM sessions WHERE id = ?1 AND ${OPEN}`)
      .bind(id, now)
      .first<{ data: string; data_version: number }>()
    return row === null ? null : { data: row.data, dataVersion: row.data_version }
  })
}

/**
 * Replaces an open session's data if its version is still `expectedVersion`, in one conditional
 * UPDATE (never read-modify-write), so of parallel writers from one version exactly one wins.
 * Returns the new data and version, or null when the version moved on or the session is not open.
 * @example const row = await replaceData(db, id, '{"theme":"dark"}', 1, now)
 */
export function replaceData(
  db: D1Database,
  id: string,
  data: string,
  expectedVersion: number,
  now: number
): Promise<DataRow | null> {
  return guardStorage('D1 write', async () => {
    const row = await db
      .prepare(
        'UPDATE sessions SET data = ?3, data_version = data_version + 1 ' +
          `WHERE id = ?1 AND ${OPEN} AND data_version = ?4 RETURNING data, data_version`
      )
      .bind(id, now, data, expectedVersion)
      .first<{ data: string; data_version: number }>()
    return row === null ? null : { data: row.data, dataVersion: row.data_version }
  })
}

export type SessionState = 'live' | 'expired' | 'revoked'

export type ListQuery = {
  now: number
  limit: number
  state: SessionState | undefined
  /** Any of these client-key hashes (one per ring key). */
  clientKeyHashes: readonly string[] | undefined
  /** Keyset cursor: list rows strictly older than this (created_at, id). */
  before: { createdAt: number; id: string } | undefined
}

const STATE_WHERE: Record<SessionState, (now: string) => string> = {
  live: (now) => `revoked_at IS NULL AND idle_expires_at > ${now} AND absolute_expires_at > ${now}`,
  expired: (now) =>
    `revoked_at IS NULL AND (idle_expires_at <= ${now} OR absolute_expires_at <= ${now})`,
  revoked: () => 'revoked_at IS NOT NULL',
}

/**
 * Sessions newest first, filtered by state and client, one page after the keyset cursor. Only
 * the filters in use go into the statement, so SQLite can pick the index that fits.
 */
export function listSessions(db: D1Database, query: ListQuery): Promise<SessionRow[]> {
  const binds: Array<string | number> = []
  const param = bindParam(binds)
  const where: string[] = []
  if (query.state !== undefined) {
    where.push(STATE_WHERE[query.state](param(query.now)))
  }
  if (query.clientKeyHashes !== undefined) {
    where.push(`client_key_hash IN (${query.clientKeyHashes.map(param).join(', ')})`)
  }
  if (query.before !== undefined) {
    where.push(`(created_at, id) < (${param(query.before.createdAt)}, ${param(query.before.id)})`)
  }
  const filter = where.length === 0 ? '' : `WHERE ${where.join(' AND ')} `
  const sql =
    `SELECT ${COLUMNS} FROM sessions ${filter}` +
    `ORDER BY created_at DESC, id DESC LIMIT ${param(query.limit)}`
  return guardStorage('D1 read', async () => {
    const result = await db
      .prepare(sql)
      .bind(...binds)
      .all<DbRow>()
    return result.results.map(toRow)
  })
}

/**
 * Deletes up to `limit` rows that ended before `cutoff` (idle, absolute or revoked) and returns
 * how many went.
 */
export function purgeEnded(db: D1Database, cutoff: number, limit: number): Promise<number> {
  return guardStorage('D1 write', async () => {
    const result = await db
      .prepare(
        'DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE idle_expires_at < ?1 ' +
          'OR absolute_expires_at < ?1 OR revoked_at < ?1 LIMIT ?2)'
      )
      .bind(cutoff, limit)
      .run()
    return result.meta.changes
  })
}
