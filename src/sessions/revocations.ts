/**
 * Revocations in KV, keyed `revoked:<session id>`, so one entry kills every token of a session.
 *
 * Trade-off accepted: KV is eventually consistent. A revocation is visible at once in the
 * location that wrote it and elsewhere within KV's propagation window (about 60 s, and a cached
 * miss can be served for up to that long); REVOCATION=strict closes the window by reading D1.
 * A failed read counts as "maybe revoked" (the caller answers 503), never as "not revoked".
 */
import { guardStorage } from './store'

/** KV's smallest allowed expirationTtl. */
export const KV_MIN_TTL_SECONDS = 60

const PREFIX = 'revoked:'

export function isRevoked(kv: KVNamespace, sessionId: string): Promise<boolean> {
  return guardStorage('KV read', async () => (await kv.get(PREFIX + sessionId)) !== null)
}

/**
 * Lists a session as revoked until `until` (Unix seconds, the last moment any of its tokens could
 * be live) plus a minute, so the entry outlives the session.
 */
export function markRevoked(
  kv: KVNamespace,
  sessionId: string,
  until: number,
  now: number
): Promise<void> {
  const ttl = Math.max(KV_MIN_TTL_SECONDS, until - now + KV_MIN_TTL_SECONDS)
  return guardStorage('KV write', () =>
    kv.put(PREFIX + sessionId, String(now), { expirationTtl: ttl })
  )
}
