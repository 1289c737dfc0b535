/**
 * The session token: an HS256 JWT whose claims are the registered ones (RFC 7519 §4.1) plus three
 * of ours, so that a live token alone can answer for its session without a D1 read:
 * `ckt` (tag of the client-key hash), `created_at` and `max_exp` (the session's creation and
 * absolute deadline, Unix seconds).
 */
import { encode } from '../jwt/base64url'
import { JwtError } from '../jwt/errors'
import { signJws } from '../jwt/jws'
import { verifyJwt } from '../jwt/jwt'
import type { KeyRing, RingKey } from '../jwt/keys'

export type SessionClaims = {
  iss: string
  aud: string
  sub: string
  jti: string
  iat: number
  exp: number
  ckt: string
  created_at: number
  max_exp: number
}

export type TokenRules = {
  issuer: string
  audience: string
  idleTimeoutSeconds: number
  clockSkewSeconds: number
}

const REQUIRED = ['iss', 'aud', 'sub', 'jti', 'iat', 'exp', 'ckt', 'created_at', 'max_exp'] as const

/** 96 random bits: a `jti` that never repeats in practice (RFC 7519 §4.1.7). */
const JTI_BYTES = 12

/**
 * Signs a session token with the ring's current key. Refuses to sign a token whose lifetime is not
 * a positive whole number of seconds within the idle timeout and the session's absolute deadline,
 * rather than issue one without a working `exp`. Only the named claims are signed, so a caller's
 * wider object can neither add a claim nor replace `iss`, `aud` or `jti`.
 * @example await issueToken(ring, rules, { sub, ckt, iat, exp: iat + 1800, created_at, max_exp })
 */
export async function issueToken(
  ring: KeyRing,
  rules: TokenRules,
  claims: Omit<SessionClaims, 'iss' | 'aud' | 'jti'>
): Promise<string> {
  checkLifetime(claims, rules.idleTimeoutSeconds)
  const full: SessionClaims = {
    iss: rules.issuer,
    aud: rules.audience,
    sub: claims.sub,
    jti: encode(crypto.getRandomValues(new Uint8Array(JTI_BYTES))),
    iat: claims.iat,
    exp: claims.exp,
    ckt: claims.ckt,
    created_at: claims.created_at,
    max_exp: claims.max_exp,
  }
  return signJws(full, ring.current)
}

function checkLifetime(
  claims: Pick<SessionClaims, 'iat' | 'exp' | 'max_exp'>,
  idleTimeoutSeconds: number
): void {
  const { iat, exp } = claims
  if (!isTime(iat) || !isTime(exp) || exp <= iat) {
    throw new RangeError('token lifetime must be a positive whole number of seconds')
  }
  if (exp - iat > idleTimeoutSeconds) {
    throw new RangeError('token lifetime must not exceed the idle timeout')
  }
  if (!isTime(claims.max_exp) || exp > claims.max_exp) {
    throw new RangeError("token must expire by the session's absolute deadline")
  }
}

/**
 * Verifies a session token at `now`. Throws JwtError; JwtExpiredError carries the claims.
 * @example const { claims, key } = await verifyToken(token, ring, rules, now)
 */
export async function verifyToken(
  token: string,
  ring: KeyRing,
  rules: TokenRules,
  now: number
): Promise<{ claims: SessionClaims; key: RingKey }> {
  const { claims, kid } = await verifyJwt(token, ring.lookup, {
    now,
    issuer: rules.issuer,
    audience: rules.audience,
    clockSkewSeconds: rules.clockSkewSeconds,
    required: REQUIRED,
    maxLifetimeSeconds: rules.idleTimeoutSeconds,
  })
  return { claims: sessionClaims(claims), key: ring.lookup(kid)! }
}

/**
 * Checks the shapes of our own claims once the registered ones passed. A token may not outlive its
 * session's absolute deadline: the hot path trusts `exp` without reading D1.
 * @example sessionClaims(verified.claims).max_exp // 1_800_043_200
 */
export function sessionClaims(claims: Record<string, unknown>): SessionClaims {
  const { ckt, exp, created_at: createdAt, max_exp: maxExp } = claims
  if (typeof ckt !== 'string' || ckt.length === 0 || !isTime(createdAt) || !isTime(maxExp)) {
    throw new JwtError('ERR_JWT_CLAIM_INVALID', 'session claims are malformed')
  }
  if (typeof exp !== 'number' || exp > maxExp) {
    throw new JwtError('ERR_JWT_CLAIM_INVALID', '"exp" claim is after "max_exp"')
  }
  return claims as SessionClaims
}

/** A whole, non-negative number of Unix seconds. */
function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
