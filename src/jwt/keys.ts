/**
 * The key ring: the current signing key and, during a rotation, the previous one.
 *
 * The HMAC key is the UTF-8 bytes of the secret string, exactly as standard JWT libraries take a
 * string secret, so any service holding the secret verifies our tokens. A `kid` is derived from
 * the secret (HKDF-SHA-256, RFC 5869) so that it names a key without revealing it. Keys are
 * imported once per secret per isolate and kept, never per request.
 */
import { encode } from './base64url'

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_SECRET_BYTES = 32

/** 64 bits of derived `kid`: enough to tell two secrets apart, useless for guessing one. */
const KID_BYTES = 8

export type RingKey = { kid: string; key: CryptoKey; secret: Uint8Array }

export type KeyRing = {
  current: RingKey
  previous: RingKey | undefined
  /** Finds a key by `kid`; a token without `kid` is checked against the current key only. */
  lookup: (kid: string | undefined) => RingKey | undefined
}

const rings = new Map<string, Promise<KeyRing>>()

/**
 * Returns the isolate's key ring for these secrets, importing the keys on first use.
 * @example const ring = await loadKeyRing(env.SESSION_SECRET, env.SESSION_SECRET_PREVIOUS)
 */
export function loadKeyRing(secret: string, previous?: string): Promise<KeyRing> {
  const cacheKey = JSON.stringify([secret, previous ?? null])
  let ring = rings.get(cacheKey)
  if (ring === undefined) {
    ring = buildRing(secret, previous)
    ring.catch(() => rings.delete(cacheKey))
    rings.set(cacheKey, ring)
  }
  return ring
}

async function buildRing(secret: string, previous?: string): Promise<KeyRing> {
  const current = await importRingKey(secret)
  const old = previous === undefined ? undefined : await importRingKey(previous)
  return {
    current,
    previous: old,
    lookup: (kid) => {
      if (kid === undefined || kid === current.kid) {
        return current
      }
      return old !== undefined && kid === old.kid ? old : undefined
    },
  }
}

/** Imports one secret as an HS256 key with its derived `kid`. */
export async function importRingKey(secretText: string): Promise<RingKey> {
  const secret = new TextEncoder().encode(secretText)
  if (secret.length < MIN_SECRET_BYTES) {
    throw new RangeError(`secret must be at least ${MIN_SECRET_BYTES} bytes`)
  }
  const key = await crypto.subtle.importKey(
    'raw',
    secret,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify']
  )
  const kid = encode(await deriveBytes(secret, 'edge-sessions kid', KID_BYTES))
  return { kid, key, secret }
}

/** HKDF-SHA-256 with an empty salt and `info` as the purpose label. */
export async function deriveBytes(
  secret: Uint8Array,
  info: string,
  length: number
): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new Uint8Array(0),
      info: new TextEncoder().encode(info),
    },
    base,
    length * 8
  )
  return new Uint8Array(bits)
}
