/**
 * The session edge: reads the token from `Authorization: Bearer` or the session cookie, checks the
 * Origin of writes that carry no bearer token, calls the lifecycle core, and writes the fresh
 * token back (cookie and `Session-Token` header) with `Cache-Control: no-store`.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { loadConfig, type Config } from '../config'
import { ServiceError } from '../errors'
import { loadKeyRing } from '../jwt/keys'
import { authenticate, Client, type Authenticated } from '../sessions/service'
import { storageFor } from '../sessions/storage'
import type { AppEnv, Clock, Via } from './context'

/** Response header that carries a fresh token to bearer clients. */
export const TOKEN_HEADER = 'Session-Token'

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Builds the per-request dependencies: validated config, the isolate's key ring, its storage
 * (bounded bindings and slide queue), the client, and the clock reading. Mount before any session route.
 * @example app.use('/v1/*', sessionDeps(systemClock))
 */
export function sessionDeps(clock: Clock): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = loadConfig(c.env)
    const ring = await loadKeyRing(config.secret, config.previousSecret)
    c.set('config', config)
    c.set('client', new Client(c.req.header('CF-Connecting-IP'), config.ipv6PrefixBits))
    c.set('deps', {
      ...storageFor(c.env, config),
      config,
      ring,
      now: clock(),
      defer: (work) => c.executionCtx.waitUntil(work),
    })
    await next()
  }
}

/** The token a request presents, and how. Throws token_invalid for a malformed Authorization. */
export function presentedToken(c: Context<AppEnv>, config: Config): { token?: string; via: Via } {
  const authorization = c.req.header('Authorization')
  if (authorization !== undefined) {
    const match = /^(\S+) (\S+)$/.exec(authorization)
    if (match === null || match[1]!.toLowerCase() !== 'bearer') {
      throw new ServiceError('token_invalid', 'Authorization is not "Bearer <token>"')
    }
    return { token: match[2]!, via: 'bearer' }
  }
  const cookie = readCookie(c, config.cookieName)
  return cookie === undefined ? { via: 'none' } : { token: cookie, via: 'cookie' }
}

function readCookie(c: Context<AppEnv>, name: string): string | undefined {
  try {
    const value = getCookie(c, name)
    return value === undefined || value === '' ? undefined : value
  } catch {
    return undefined
  }
}

/**
 * Refuses a write from a foreign origin unless it carries a bearer token. The cookie and, in
 * IDENTIFY_BY=ip, the client's address are ambient: a browser brings them to any page's request.
 * The Origin must be our own or on ALLOWED_ORIGINS; without Origin, a browser's Sec-Fetch-Site
 * must not say another site. A client that sends neither header is not a browser.
 * @example checkOrigin(c, presentedToken(c, config).via, config)
 */
export function checkOrigin(c: Context<AppEnv>, via: Via, config: Config): void {
  if (via === 'bearer' || !UNSAFE_METHODS.has(c.req.method)) {
    return
  }
  const origin = c.req.header('Origin')
  if (origin !== undefined) {
    if (origin !== new URL(c.req.url).origin && !config.allowedOrigins.includes(origin)) {
      throw new ServiceError('origin_rejected', 'ambient-credential write from a foreign origin')
    }
    return
  }
  const site = c.req.header('Sec-Fetch-Site')
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new ServiceError('origin_rejected', 'ambient-credential write from another site')
  }
}

/**
 * Authenticates the request and slides its session; the handler reads `c.var.auth`. The fresh
 * token goes back on the response.
 * @example app.get('/me', requireSession(), (c) => c.json({ id: c.var.auth.session.id }))
 */
export function requireSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const auth = await authenticateRequest(c)
    await next()
    if (c.res.status < 400) {
      writeSession(c, auth, c.var.via)
    }
  }
}

/** Authenticates the request and sets `auth` and `via`, without touching the response. */
export async function authenticateRequest(c: Context<AppEnv>): Promise<Authenticated> {
  const config = c.var.config
  const { token, via } = presentedToken(c, config)
  checkOrigin(c, via, config)
  const auth = await authenticate(c.var.deps, token, c.var.client)
  c.set('auth', auth)
  c.set('via', via)
  return auth
}

/** Puts a session's token on the response: header always, cookie when it is new to the client. */
export function writeSession(c: Context<AppEnv>, auth: Authenticated, via: Via): void {
  c.header('Cache-Control', 'no-store')
  c.header(TOKEN_HEADER, auth.token)
  if (auth.reissued || via !== 'cookie') {
    setCookie(c, c.var.config.cookieName, auth.token, {
      secure: true,
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: Math.max(0, auth.tokenExpiresAt - c.var.deps.now),
    })
  }
}

/** Removes the session cookie and asks the browser to drop its cookies for this origin. */
export function clearSession(c: Context<AppEnv>): void {
  deleteCookie(c, c.var.config.cookieName, {
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
  })
  c.header('Clear-Site-Data', '"cookies"')
  c.header('Cache-Control', 'no-store')
}
