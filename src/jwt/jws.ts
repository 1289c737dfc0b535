/**
 * HS256 JWS in compact serialisation (RFC 7515 §7.1), on Web Crypto only.
 *
 * Verification order: a length bound before any split or decode, exactly three non-empty strict
 * base64url parts, a header that is a JSON object with `alg` exactly "HS256", `typ` "JWT", no
 * `crit` or `b64`, and a `kid` the key lookup knows (or none, if the lookup has a default); then
 * the HMAC over the received ASCII bytes of `header.payload`; only then is the payload decoded.
 * No other algorithm is ever looked up, so `none` and algorithm-confusion tokens fail before any
 * key is touched. docs/tokens.md lists every rule.
 */
import { decode, encodeText, encode } from './base64url'
import { JwtError } from './errors'
import { parseJsonObject } from './json'

/** Longest token we read: ours are about 380 characters; 4 KiB is the browser cookie cap. */
export const MAX_TOKEN_LENGTH = 4096

/** HMAC-SHA-256 output length (RFC 2104, FIPS 180-4). */
const HS256_SIGNATURE_BYTES = 32

const ascii = new TextEncoder()

/** Finds the key for a header's `kid`; `undefined` stands for a header without one. */
export type KeyLookup = (kid: string | undefined) => { kid: string; key: CryptoKey } | undefined

export type VerifiedJws = {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  kid: string
}

/**
 * Signs `payload` as a compact HS256 JWS with `kid` in its header.
 * @example await signJws({ sub: 's1' }, { kid: 'k1', key }) // 'eyJhbGciOiJIUzI1NiIs…'
 */
export async function signJws(
  payload: Record<string, unknown>,
  signer: { kid: string; key: CryptoKey }
): Promise<string> {
  const header = encodeText(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: signer.kid }))
  const input = `${header}.${encodeText(JSON.stringify(payload))}`
  const mac = await crypto.subtle.sign('HMAC', signer.key, ascii.encode(input))
  return `${input}.${encode(new Uint8Array(mac))}`
}

/**
 * Verifies a compact HS256 JWS and returns its header and payload. Throws JwtError.
 * @example const { payload } = await verifyJws(token, (kid) => ring.get(kid))
 */
export async function verifyJws(token: string, lookup: KeyLookup): Promise<VerifiedJws> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new JwtError('ERR_JWS_INVALID', 'token length is out of bounds')
  }
  const firstDot = token.indexOf('.')
  const secondDot = token.indexOf('.', firstDot + 1)
  if (firstDot < 1 || secondDot < firstDot + 2 || secondDot === token.length - 1) {
    throw new JwtError('ERR_JWS_INVALID', 'token is not three non-empty parts')
  }
  if (token.indexOf('.', secondDot + 1) !== -1) {
    throw new JwtError('ERR_JWS_INVALID', 'token is not three non-empty parts')
  }

  const header = decodeJsonPart(token.slice(0, firstDot), 'header')
  const { kid, key } = checkHeader(header, lookup)
  const signature = decode(token.slice(secondDot + 1))
  if (signature === undefined || signature.length !== HS256_SIGNATURE_BYTES) {
    throw new JwtError('ERR_JWS_INVALID', 'signature is not a canonical HS256 value')
  }
  const signed = ascii.encode(token.slice(0, secondDot))
  if (!(await crypto.subtle.verify('HMAC', key, signature, signed))) {
    throw new JwtError('ERR_JWS_SIGNATURE_INVALID', 'signature verification failed')
  }

  const payload = decodeJsonPart(token.slice(firstDot + 1, secondDot), 'payload')
  return { header, payload, kid }
}

function decodeJsonPart(part: string, name: string): Record<string, unknown> {
  const bytes = decode(part)
  const value = bytes === undefined ? undefined : parseJsonObject(bytes)
  if (value === undefined) {
    throw new JwtError('ERR_JWS_INVALID', `${name} is not a base64url JSON object`)
  }
  return value
}

function checkHeader(
  header: Record<string, unknown>,
  lookup: KeyLookup
): { kid: string; key: CryptoKey } {
  if (header.alg !== 'HS256') {
    throw new JwtError('ERR_JWS_ALG_NOT_ALLOWED', '"alg" header must be "HS256"')
  }
  if (header.typ !== 'JWT') {
    throw new JwtError('ERR_JWS_INVALID', '"typ" header must be "JWT"')
  }
  if ('crit' in header || 'b64' in header) {
    throw new JwtError('ERR_JWS_INVALID', '"crit" and "b64" headers are not supported')
  }
  const kid = header.kid
  if (kid !== undefined && typeof kid !== 'string') {
    throw new JwtError('ERR_JWS_INVALID', '"kid" header must be a string')
  }
  const found = lookup(kid)
  if (found === undefined) {
    throw new JwtError('ERR_JWS_UNKNOWN_KID', '"kid" header names no known key')
  }
  return found
}
