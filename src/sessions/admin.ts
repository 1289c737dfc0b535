/**
 * What the admin API does with sessions: list, read, and revoke by id or by client. Every revoke
 * writes D1 first (the record of truth, and what REVOCATION=strict reads) and then KV (what the
 * fast path reads); a failure of either is a `storage_unavailable` and a retry is safe.
 *
 * A client is matched under every key of the ring: a session keeps the client hash it was created
 * with, so during a secret rotation the sessions made under the previous secret are found too.
 *
 * Trade-off accepted: revoking a client writes one KV entry per unexpired session, and a Worker
 * may make 1,000 KV operations per invocation (Cloudflare Workers limits). In IDENTIFY_BY=ip a
 * client key holds a handful of sessions; only IDENTIFY_BY=token lets one address collect more.
 * Past the limit the call answers 503 with every revocation already in D1 (exact in
 * REVOCATION=strict), while in fast mode the sessions KV missed live until their tokens expire.
 */
import type { KeyRing } from '../jwt/keys'
import { markRevoked } from './revocations'
import type { Client, SessionDeps } from './service'
import * as store from './store'

export type AdminDeps = Pick<SessionDeps, 'db' | 'kv' | 'ring' | 'now'>

export type Cursor = { createdAt: number; id: string }

export type PageQuery = {
  limit: number
  state?: store.SessionState | undefined
  client?: Client | undefined
  after?: Cursor | undefined
}

export type Page = { sessions: store.SessionRow[]; next: Cursor | undefined }

/**
 * The state of a session at `now`: revoked wins over expired, as the admin caused it.
 * @example sessionState(row, now) // 'live'
 */
export function sessionState(row: store.SessionRow, now: number): store.SessionState {
  if (row.revokedAt !== null) {
    return 'revoked'
  }
  const ended = row.idleExpiresAt <= now || row.absoluteExpiresAt <= now
  return ended ? 'expired' : 'live'
}

/**
 * One page of sessions, newest first, and the cursor of the next page when there is one.
 * Throws ServiceError client_ip_invalid for a client filter that is not an IP address.
 * @example const { sessions, next } = await listPage(deps, { limit: 50, state: 'live' })
 */
export async function listPage(deps: AdminDeps, query: PageQuery): Promise<Page> {
  const clientKeyHashes =
    query.client === undefined ? undefined : await clientHashes(deps.ring, query.client)
  const rows = await store.listSessions(deps.db, {
    now: deps.now,
    limit: query.limit + 1,
    state: query.state,
    clientKeyHashes,
    before: query.after,
  })
  const sessions = rows.slice(0, query.limit)
  const last = sessions.at(-1)
  const more = rows.length > query.limit && last !== undefined
  return { sessions, next: more ? { createdAt: last.createdAt, id: last.id } : undefined }
}

/**
 * Reads one session, whatever its state; null when unknown.
 * @example const row = await findById(deps, 'VmsdU27iFg44IPnyP-HQ-g')
 */
export function findById(deps: AdminDeps, id: string): Promise<store.SessionRow | null> {
  return store.findSession(deps.db, id)
}

/**
 * Revokes one session in D1 and KV; true when it exists (revoked now or before).
 * @example const existed = await revokeById(deps, 'VmsdU27iFg44IPnyP-HQ-g')
 */
export async function revokeById(deps: AdminDeps, id: string): Promise<boolean> {
  const row = await store.revokeSession(deps.db, id, deps.now)
  if (row === null) {
    return false
  }
  await markRevoked(deps.kv, row.id, row.absoluteExpiresAt, deps.now)
  return true
}

/**
 * Revokes every unexpired session of a client key in D1 and lists each in KV; returns how many
 * this call revoked. Throws ServiceError client_ip_invalid for an address that is not one.
 * @example const revoked = await revokeByClient(deps, new Client('203.0.113.7', 64))
 */
export async function revokeByClient(deps: AdminDeps, client: Client): Promise<number> {
  const hashes = await clientHashes(deps.ring, client)
  const { revoked, unexpired } = await store.revokeClientSessions(deps.db, hashes, deps.now)
  await Promise.all(
    unexpired.map((row) => markRevoked(deps.kv, row.id, row.absoluteExpiresAt, deps.now))
  )
  return revoked
}

async function clientHashes(ring: KeyRing, client: Client): Promise<string[]> {
  const current = await client.hash(ring.current)
  return ring.previous === undefined ? [current] : [current, await client.hash(ring.previous)]
}
