/**
 * Why a token was refused. Codes are stable and safe to log; messages name the rule that failed
 * and never echo any part of the token.
 */
export type JwtErrorCode =
  | 'ERR_JWS_INVALID'
  | 'ERR_JWS_ALG_NOT_ALLOWED'
  | 'ERR_JWS_UNKNOWN_KID'
  | 'ERR_JWS_SIGNATURE_INVALID'
  | 'ERR_JWT_CLAIM_INVALID'
  | 'ERR_JWT_NOT_YET_VALID'
  | 'ERR_JWT_EXPIRED'

export class JwtError extends Error {
  override name = 'JwtError'
  readonly code: JwtErrorCode

  constructor(code: JwtErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

/**
 * A token whose signature and every other claim check passed, but whose `exp` is reached. It
 * carries the verified claims so that a caller may ask its store whether the session lives on.
 */
export class JwtExpiredError extends JwtError {
  override name = 'JwtExpiredError'
  readonly claims: Record<string, unknown>
  readonly kid: string

  constructor(claims: Record<string, unknown>, kid: string) {
    super('ERR_JWT_EXPIRED', '"exp" claim timestamp check failed')
    this.claims = claims
    this.kid = kid
  }
}
