/**
 * JWT claim rules (RFC 7519 §4.1) over a verified HS256 JWS. The clock is passed in as Unix
 * seconds; nothing here reads the time.
 *
 * Every check except expiry runs first, so an expired token is reported as expired only when it
 * is otherwise entirely valid; JwtExpiredError then carries its claims.
 */
import { JwtError, JwtExpiredError } from './errors'
import { verifyJws, type KeyLookup } from './jws'

export type VerifyOptions = {
  /** Current time, Unix seconds. */
  now: number
  /** Allowed clock difference for `exp`, `nbf` and `iat`, in seconds. */
  clockSkewSeconds?: number
  issuer?: string
  audience?: string
  /** Claim names that must be present. */
  required?: readonly string[]
  /** Longest allowed `exp - iat`, in seconds. */
  maxLifetimeSeconds?: number
}

export type VerifiedJwt = { claims: Record<string, unknown>; kid: string }

const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const
const STRING_CLAIMS = ['iss', 'sub', 'jti'] as const

/**
 * Verifies the signature, then the registered claims. Throws JwtError (JwtExpiredError at `exp`).
 * @example await verifyJwt(token, lookup, { now: 1_700_000_000, issuer: 'a', audience: 'b' })
 */
export async function verifyJwt(
  token: string,
  lookup: KeyLookup,
  options: VerifyOptions
): Promise<VerifiedJwt> {
  const { payload: claims, kid } = await verifyJws(token, lookup)
  checkShapes(claims, options.required ?? [])
  checkIdentity(claims, options)
  checkTimes(claims, kid, options)
  return { claims, kid }
}

function checkShapes(claims: Record<string, unknown>, required: readonly string[]): void {
  for (const name of required) {
    if (claims[name] === undefined) {
      throw new JwtError('ERR_JWT_CLAIM_INVALID', `"${name}" claim is missing`)
    }
  }
  for (const name of TIME_CLAIMS) {
    const value = claims[name]
    if (value !== undefined && !isNumericDate(value)) {
      throw new JwtError('ERR_JWT_CLAIM_INVALID', `"${name}" claim must be a NumericDate`)
    }
  }
  for (const name of STRING_CLAIMS) {
    const value = claims[name]
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new JwtError('ERR_JWT_CLAIM_INVALID', `"${name}" claim must be a non-empty string`)
    }
  }
}

function checkIdentity(claims: Record<string, unknown>, options: VerifyOptions): void {
  if (options.issuer !== undefined && claims.iss !== options.issuer) {
    throw new JwtError('ERR_JWT_CLAIM_INVALID', '"iss" claim check failed')
  }
  if (options.audience !== undefined && !audienceIncludes(claims.aud, options.audience)) {
    throw new JwtError('ERR_JWT_CLAIM_INVALID', '"aud" claim check failed')
  }
}

function checkTimes(claims: Record<string, unknown>, kid: string, options: VerifyOptions): void {
  const skew = options.clockSkewSeconds ?? 0
  const exp = claims.exp as number | undefined
  const iat = claims.iat as number | undefined
  const nbf = claims.nbf as number | undefined
  if (nbf !== undefined && nbf > options.now + skew) {
    throw new JwtError('ERR_JWT_NOT_YET_VALID', '"nbf" claim timestamp check failed')
  }
  if (iat !== undefined && iat > options.now + skew) {
    throw new JwtError('ERR_JWT_NOT_YET_VALID', '"iat" claim timestamp check failed')
  }
  const maxLifetime = options.maxLifetimeSeconds
  if (
    maxLifetime !== undefined &&
    exp !== undefined &&
    iat !== undefined &&
    exp - iat > maxLifetime
  ) {
    throw new JwtError('ERR_JWT_CLAIM_INVALID', '"exp" claim is too far after "iat"')
  }
  if (exp !== undefined && options.now - skew >= exp) {
    throw new JwtExpiredError(claims, kid)
  }
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function audienceIncludes(aud: unknown, audience: string): boolean {
  if (typeof aud === 'string') {
    return aud === audience
  }
  return (
    Array.isArray(aud) &&
    aud.length > 0 &&
    aud.every((a) => typeof a === 'string') &&
    aud.includes(audience)
  )
}
