/**
 * The errors a request can end in, each with a stable code that clients may branch on. The HTTP
 * edge maps a code to its status and wire text in one place (src/http/problem.ts); the detail
 * passed here goes to the log line only.
 */
export type ProblemCode =
  | 'token_missing'
  | 'token_invalid'
  | 'session_expired'
  | 'session_revoked'
  | 'session_not_found'
  | 'client_changed'
  | 'client_ip_missing'
  | 'client_ip_invalid'
  | 'rate_limited'
  | 'origin_rejected'
  | 'storage_unavailable'
  | 'precondition_required'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'invalid_body'
  | 'invalid_request'
  | 'admin_unauthorized'
  | 'admin_forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'configuration_error'
  | 'internal_error'

export class ServiceError extends Error {
  override name = 'ServiceError'
  readonly code: ProblemCode
  /** Seconds a client should wait before trying again, for 429 and 503. */
  readonly retryAfterSeconds: number | undefined

  constructor(
    code: ProblemCode,
    detail: string,
    options?: { cause?: unknown; retryAfterSeconds?: number }
  ) {
    super(detail, { cause: options?.cause })
    this.code = code
    this.retryAfterSeconds = options?.retryAfterSeconds
  }
}
