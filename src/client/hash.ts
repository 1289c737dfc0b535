/**
 * The client key is kept only as a keyed hash: HMAC-SHA-256 under a key derived from the session
 * secret (HKDF info "edge-sessions client-key"). An unkeyed hash of an IPv4 address falls to a
 * brute force over 2^32 inputs; a keyed one needs the secret.
 *
 * The token carries a short prefix of the same hash as its tag, so binding a token to its client
 * needs one HMAC and no storage read.
 */
import { encode } from '../jwt/base64url'
import { deriveBytes } from '../jwt/keys'

/** 96 bits of the hash in the token: a forged match needs 2^96 tries, and tags stay short. */
export const CLIENT_TAG_LENGTH = 16

export type ClientHasher = (clientKey: string) => Promise<string>

const hashers = new Map<string, Promise<ClientHasher>>()

/**
 * Returns the isolate's hasher for a secret, deriving its key on first use.
 * @example const hash = await (await clientHasher(secretBytes))('ipv4:203.0.113.7')
 */
export function clientHasher(secret: Uint8Array): Promise<ClientHasher> {
  const cacheKey = encode(secret)
  let hasher = hashers.get(cacheKey)
  if (hasher === undefined) {
    hasher = buildHasher(secret)
    hasher.catch(() => hashers.delete(cacheKey))
    hashers.set(cacheKey, hasher)
  }
  return hasher
}

async function buildHasher(secret: Uint8Array): Promise<ClientHasher> {
  const material = await deriveBytes(secret, 'edge-sessions client-key', 32)
  const key = await crypto.subtle.importKey(
    'raw',
    material,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign']
  )
  const bytes = new TextEncoder()
  return async (clientKey) =>
    encode(new Uint8Array(await crypto.subtle.sign('HMAC', key, bytes.encode(clientKey))))
}

/** The short tag of a client-key hash that a token carries. */
export function clientTag(clientKeyHash: string): string {
  return clientKeyHash.slice(0, CLIENT_TAG_LENGTH)
}
