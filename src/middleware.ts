/**
 * edge-sessions inside your own Hono app. `edgeSessions()` authenticates the request (bearer token,
 * session cookie, or in IDENTIFY_BY=ip the client's address), slides its session, and puts the
 * fresh token on the response; a handler reads the session from `c.var.auth`. Refusals are thrown
 * as typed errors: make `sessionErrors` the app's error handler (or call it from yours) so that they
 * answer as problem+json with their stable codes. The app needs the same bindings and settings as
 * the Worker (wrangler.toml).
 *
 * @example
 * const app = new Hono<SessionEnv>()
 * app.onError(sessionErrors)
 * app.use('/api/*', edgeSessions())
 * app.get('/api/me', (c) => c.json({ session: c.var.auth.session.id }))
 */
import type { MiddlewareHandler } from 'hono'
import { every } from 'hono/combine'
import { systemClock, type AppEnv, type Clock } from './http/context'
import { requireSession, sessionDeps } from './http/session'

export type { AppEnv as SessionEnv } from './http/context'
export { onError as sessionErrors } from './http/problem'

/**
 * The session middleware: dependencies, then authentication and sliding.
 * @example app.use('/api/*', edgeSessions())
 */
export function edgeSessions(options: { clock?: Clock } = {}): MiddlewareHandler<AppEnv> {
  return every(sessionDeps(options.clock ?? systemClock), requireSession())
}
