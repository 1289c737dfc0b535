import { encode } from '../../src/jwt/base64url'

export type Seed = {
  id?: string
  clientKeyHash?: string
  clientIp?: string | null
  createdAt: number
  idleExpiresAt: number
  absoluteExpiresAt: number
  revokedAt?: number | null
}

/** Bound parameters per row of the seeding INSERT. */
const COLUMNS_PER_ROW = 8
/** D1 takes at most 100 bound parameters per statement: 12 rows of 8. */
const ROWS_PER_INSERT = Math.floor(100 / COLUMNS_PER_ROW)
/** INSERT statements sent in one db.batch call. */
const INSERTS_PER_BATCH = 50

/** A fresh session id of the real shape: 16 random bytes, base64url. */
export function newId(): string {
  return encode(crypto.getRandomValues(new Uint8Array(16)))
}

/** Writes rows straight into D1, many per statement and many statements per batch. */
export async function seedSessions(db: D1Database, seeds: readonly Seed[]): Promise<string[]> {
  const rows = seeds.map((seed) => [
    seed.id ?? newId(),
    seed.clientKeyHash ?? 'seeded-client',
    seed.clientIp ?? null,
    seed.createdAt,
    seed.createdAt,
    seed.idleExpiresAt,
    seed.absoluteExpiresAt,
    seed.revokedAt ?? null,
  ])
  const statements: D1PreparedStatement[] = []
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT)
    const values = chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')
    const sql =
      'INSERT INTO sessions (id, client_key_hash, client_ip, created_at, last_seen_at, ' +
      `idle_expires_at, absolute_expires_at, revoked_at) VALUES ${values}`
    statements.push(db.prepare(sql).bind(...chunk.flat()))
  }
  for (let i = 0; i < statements.length; i += INSERTS_PER_BATCH) {
    await db.batch(statements.slice(i, i + INSERTS_PER_BATCH))
  }
  return rows.map((row) => row[0] as string)
}

/** Empties the sessions table; storage is shared by the tests of one file. */
export async function clearSessions(db: D1Database): Promise<void> {
  await db.prepare('DELETE FROM sessions').run()
}
