/**
 * The admin API under /v1/admin: list and read sessions, revoke one, revoke a client's. Behind
 * `Authorization: Bearer <ADMIN_TOKEN>`; without ADMIN_TOKEN every admin path answers exactly as
 * an unknown route does. Responses are `Cache-Control: no-store`.
 *
 * The token check compares HMACs of both sides under a random key of this isolate with
 * `crypto.subtle.timingSafeEqual`: the digests always have equal length, so neither the length
 * nor a matching prefix of a guess shows in the time taken.
 *
 * An address sent in the path is never echoed back: problems on the client route name the route,
 * not the path.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { ServiceError } from '../errors'
import { decode, encodeText } from '../jwt/base64url'
import { logEvent, sessionRef } from '../log'
import {
  findById,
  listPage,
  revokeByClient,
  revokeById,
  sessionState,
  type Cursor,
} from '../sessions/admin'
import { Client } from '../sessions/service'
import type { SessionRow, SessionState } from '../sessions/store'
import type { AppEnv } from './context'
import { problem } from './problem'
import { iso } from './views'

/** Page size when `limit` is absent. */
const DEFAULT_PAGE_SIZE = 50
/** Largest `limit`: a page of 100 rows stays a small D1 read and a small response. */
const MAX_PAGE_SIZE = 100
/** A cursor is a base64url (created_at, id) pair of about 40 characters; longer is not ours. */
const MAX_CURSOR_LENGTH = 64

/** Session ids are 16 random bytes in unpadded base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/
const CURSOR_TEXT = /^(\d{1,15})\.([A-Za-z0-9_-]{22})$/
const STATES: readonly SessionState[] = ['live', 'expired', 'revoked']

/**
 * The admin routes, to mount at /v1/admin after the session dependencies.
 * @example app.route('/v1/admin', adminRoutes())
 */
export function adminRoutes(): Hono<AppEnv> {
  const admin = new Hono<AppEnv>()
  admin.use('*', requireAdmin)

  admin.get('/sessions', listSessions)
  admin.get('/sessions/:id', readSession)
  admin.delete('/sessions/:id', revokeSession)
  admin.delete('/clients/:ip/sessions', revokeClient)

  for (const path of ['/sessions', '/sessions/:id', '/clients/:ip/sessions']) {
    admin.all(path, () => {
      throw new ServiceError('method_not_allowed', 'admin route does not take this method')
    })
  }
  return admin
}

const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.var.config.adminToken
  if (expected === undefined) {
    return problem('not_found')
  }
  const presented = bearer(c.req.header('Authorization'))
  if (presented === undefined) {
    throw new ServiceError('admin_unauthorized', 'no admin bearer token')
  }
  if (!(await sameSecret(presented, expected))) {
    throw new ServiceError('admin_forbidden', 'admin token does not match')
  }
  c.header('Cache-Control', 'no-store')
  return next()
}

/** The token of `Bearer <token>` with exactly one space, as session tokens are read. */
function bearer(authorization: string | undefined): string | undefined {
  const match = /^(\S+) (\S+)$/.exec(authorization ?? '')
  return match === null || match[1]!.toLowerCase() !== 'bearer' ? undefined : match[2]
}

let isolateKey: Promise<CryptoKey> | undefined

/** Compares two secrets in time independent of where they differ and of their lengths. */
async function sameSecret(presented: string, expected: string): Promise<boolean> {
  isolateKey ??= crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]) as Promise<CryptoKey>
  const key = await isolateKey
  const bytes = new TextEncoder()
  const [a, b] = await Promise.all([
    crypto.subtle.sign('HMAC', key, bytes.encode(presented)),
    crypto.subtle.sign('HMAC', key, bytes.encode(expected)),
  ])
  return crypto.subtle.timingSafeEqual(a, b)
}

async function listSessions(c: Context<AppEnv>): Promise<Response> {
  const ip = single(c, 'ip')
  const page = await listPage(c.var.deps, {
    limit: pageSize(single(c, 'limit')),
    state: state(single(c, 'state')),
    client: ip === undefined ? undefined : new Client(ip, c.var.config.ipv6PrefixBits),
    after: cursor(single(c, 'cursor')),
  })
  return c.json({
    sessions: page.sessions.map((row) => sessionJson(c, row)),
    nextCursor: page.next === undefined ? null : encodeCursor(page.next),
  })
}

async function readSession(c: Context<AppEnv>): Promise<Response> {
  const row = await findById(c.var.deps, sessionId(c))
  if (row === null) {
    throw new ServiceError('not_found', 'no session with this id')
  }
  return c.json(sessionJson(c, row))
}

async function revokeSession(c: Context<AppEnv>): Promise<Response> {
  const id = sessionId(c)
  if (!(await revokeById(c.var.deps, id))) {
    throw new ServiceError('not_found', 'no session with this id')
  }
  logEvent('admin_session_revoked', { sid: sessionRef(id) })
  return c.body(null, 204)
}

async function revokeClient(c: Context<AppEnv>): Promise<Response> {
  const client = new Client(c.req.param('ip'), c.var.config.ipv6PrefixBits)
  const revoked = await revokeByClient(c.var.deps, client)
  logEvent('admin_client_revoked', { revoked })
  return c.json({ revoked })
}

/** A well-formed session id from the path; anything else is as unknown as a missing session. */
function sessionId(c: Context<AppEnv>): string {
  const id = c.req.param('id') ?? ''
  if (!SESSION_ID.test(id)) {
    throw new ServiceError('not_found', 'not a session id')
  }
  return id
}

/** One query parameter, given at most once. */
function single(c: Context<AppEnv>, name: string): string | undefined {
  const values = c.req.queries(name) ?? []
  if (values.length > 1) {
    throw new ServiceError('invalid_request', `query parameter ${name} is repeated`)
  }
  return values[0]
}

function pageSize(text: string | undefined): number {
  if (text === undefined) {
    return DEFAULT_PAGE_SIZE
  }
  const size = /^\d{1,3}$/.test(text) ? Number(text) : 0
  if (size < 1 || size > MAX_PAGE_SIZE) {
    throw new ServiceError('invalid_request', `limit must be a whole number 1..${MAX_PAGE_SIZE}`)
  }
  return size
}

function state(text: string | undefined): SessionState | undefined {
  if (text === undefined) {
    return undefined
  }
  const found = STATES.find((s) => s === text)
  if (found === undefined) {
    throw new ServiceError('invalid_request', 'state must be live, expired or revoked')
  }
  return found
}

function encodeCursor(position: Cursor): string {
  return encodeText(`${position.createdAt}.${position.id}`)
}

function cursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) {
    return undefined
  }
  const bytes = text.length <= MAX_CURSOR_LENGTH ? decode(text) : undefined
  const match = CURSOR_TEXT.exec(bytes === undefined ? '' : new TextDecoder().decode(bytes))
  if (match === null || !Number.isSafeInteger(Number(match[1]))) {
    throw new ServiceError('invalid_request', 'cursor is not one this API issued')
  }
  return { createdAt: Number(match[1]), id: match[2]! }
}

/** What an admin sees of a session: never its client hash; the address only if one is kept. */
function sessionJson(c: Context<AppEnv>, row: SessionRow) {
  const keepsIp = c.var.config.storeClientIp && row.clientIp !== null
  return {
    id: row.id,
    state: sessionState(row, c.var.deps.now),
    createdAt: iso(row.createdAt),
    lastSeenAt: iso(row.lastSeenAt),
    expiresAt: iso(row.idleExpiresAt),
    absoluteExpiresAt: iso(row.absoluteExpiresAt),
    revokedAt: row.revokedAt === null ? null : iso(row.revokedAt),
    dataVersion: row.dataVersion,
    ...(keepsIp ? { clientIp: row.clientIp } : {}),
  }
}
