/**
 * The one place where an error becomes a response: RFC 9457 problem+json with a stable `code`,
 * a generic wire text per code, and one log line with the internal detail. 401s carry an RFC 6750
 * challenge: `error="invalid_token"` when a credential was presented, none when it was absent
 * (RFC 6750 §3.1). No body carries `instance`: the request path may hold client input (an
 * address in an admin path), and a problem never echoes client input.
 */
import { HTTPException } from 'hono/http-exception'
import { ConfigError } from '../config'
import { ServiceError, type ProblemCode } from '../errors'
import { logEvent } from '../log'

type Wire = { status: number; title: string; challenge?: 'missing' | 'invalid' | 'admin' }

const WIRE: Record<ProblemCode, Wire> = {
  token_missing: { status: 401, title: 'No session token was presented.', challenge: 'missing' },
  token_invalid: { status: 401, title: 'The session token is not valid.', challenge: 'invalid' },
  session_expired: { status: 401, title: 'The session has expired.', challenge: 'invalid' },
  session_revoked: { status: 401, title: 'The session has been ended.', challenge: 'invalid' },
  session_not_found: {
    status: 401,
    title: 'This client has no live session.',
    challenge: 'missing',
  },
  client_changed: {
    status: 401,
    title: 'The session token belongs to another client address.',
    challenge: 'invalid',
  },
  client_ip_missing: { status: 400, title: 'The client address (CF-Connecting-IP) is missing.' },
  client_ip_invalid: { status: 400, title: 'The client IP address is not valid.' },
  rate_limited: { status: 429, title: 'Too many new sessions from this client; retry later.' },
  origin_rejected: { status: 403, title: 'This origin may not use the session cookie.' },
  storage_unavailable: { status: 503, title: 'Session storage is unavailable; retry later.' },
  precondition_required: { status: 428, title: 'This update needs an If-Match header.' },
  precondition_failed: { status: 412, title: 'The session data has changed since that version.' },
  payload_too_large: { status: 413, title: 'The request body is too large.' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json.' },
  invalid_body: { status: 400, title: 'The request body is not a valid JSON object.' },
  invalid_request: { status: 400, title: 'The request is malformed.' },
  admin_unauthorized: { status: 401, title: 'An admin token is required.', challenge: 'admin' },
  admin_forbidden: { status: 403, title: 'The admin token is not valid.' },
  not_found: { status: 404, title: 'Not found.' },
  method_not_allowed: { status: 405, title: 'Method not allowed.' },
  configuration_error: { status: 500, title: 'The service is misconfigured.' },
  internal_error: { status: 500, title: 'Internal error.' },
}

/** The status a code is answered with. */
export function statusOf(code: ProblemCode): number {
  return WIRE[code].status
}

/**
 * Builds the problem response for a code. `retryAfterSeconds` adds Retry-After.
 * @example return problem('not_found')
 */
export function problem(code: ProblemCode, retryAfterSeconds?: number): Response {
  const wire = WIRE[code]
  const headers: Record<string, string> = {
    'Content-Type': 'application/problem+json',
    'Cache-Control': 'no-store',
  }
  if (wire.challenge !== undefined) {
    headers['WWW-Authenticate'] = challenge(wire.challenge)
  }
  if (retryAfterSeconds !== undefined) {
    headers['Retry-After'] = String(retryAfterSeconds)
  }
  const body = {
    type: `urn:edge-sessions:problem:${code}`,
    title: wire.title,
    status: wire.status,
    code,
  }
  return new Response(JSON.stringify(body), { status: wire.status, headers })
}

function challenge(kind: 'missing' | 'invalid' | 'admin'): string {
  if (kind === 'admin') {
    return 'Bearer realm="edge-sessions-admin"'
  }
  return kind === 'invalid'
    ? 'Bearer realm="edge-sessions", error="invalid_token"'
    : 'Bearer realm="edge-sessions"'
}

/** Hono's onError: maps any thrown error to a problem and logs one line. */
export function onError(error: Error): Response {
  if (error instanceof ServiceError) {
    logEvent('request_rejected', {
      code: error.code,
      status: statusOf(error.code),
      detail: error.message,
      cause: error.cause instanceof Error ? error.cause.name : undefined,
    })
    return problem(error.code, error.retryAfterSeconds)
  }
  if (error instanceof ConfigError) {
    logEvent('configuration_error', { setting: error.setting, detail: error.message })
    return problem('configuration_error')
  }
  if (error instanceof HTTPException && error.status < 500) {
    logEvent('request_rejected', { code: 'invalid_request', status: error.status })
    return problem(error.status === 413 ? 'payload_too_large' : 'invalid_request')
  }
  logEvent('internal_error', { error: error.name })
  return problem('internal_error')
}
