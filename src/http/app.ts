/**
 * The Hono application: health, the session API under /v1, and the error mapping. Everything
 * that decides anything lives below, in src/sessions and the pure cores.
 */
import { Hono, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { loadConfig } from '../config'
import { pageRoutes } from '../page/routes'
import { end, start } from '../sessions/service'
import { logEvent, sessionRef } from '../log'
import { adminRoutes } from './admin'
import { systemClock, type AppEnv, type Clock } from './context'
import { getData, putData } from './data'
import { onError, problem } from './problem'
import {
  authenticateRequest,
  checkOrigin,
  clearSession,
  presentedToken,
  requireSession,
  sessionDeps,
  writeSession,
} from './session'
import { sessionReply } from './views'

/** How long a browser may cache a CORS preflight answer, seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 600

export type AppOptions = { clock?: Clock }

/**
 * CORS with credentials for the origins in ALLOWED_ORIGINS, and no CORS header at all for any
 * other origin; every reply varies on Origin.
 */
function corsForAllowedOrigins(): MiddlewareHandler<AppEnv> {
  const allowed = cors({
    origin: (origin) => origin,
    credentials: true,
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'If-Match'],
    exposeHeaders: ['Session-Token', 'ETag', 'Retry-After'],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  })
  return async (c, next) => {
    const origin = c.req.header('Origin')
    if (origin !== undefined && loadConfig(c.env).allowedOrigins.includes(origin)) {
      return allowed(c, next)
    }
    await next()
    c.header('Vary', 'Origin', { append: true })
  }
}

/**
 * Creates the edge-sessions app. The Worker entry uses the system clock; tests pass their own.
 * @example export default createApp()
 */
export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  const clock = options.clock ?? systemClock

  app.onError(onError)
  app.notFound(() => problem('not_found'))

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.route('/', pageRoutes())

  app.use('/v1/*', corsForAllowedOrigins())
  app.use('/v1/*', sessionDeps(clock))

  app.post('/v1/sessions', async (c) => {
    const { token, via } = presentedToken(c, c.var.config)
    checkOrigin(c, via, c.var.config)
    const started = await start(c.var.deps, token, c.var.client)
    if (started.created) {
      logEvent('session_started', { sid: sessionRef(started.session.id) })
    }
    c.set('via', via)
    writeSession(c, started, via)
    return c.json(sessionReply(started, c.var.config), started.created ? 201 : 200)
  })

  app.get('/v1/session', requireSession(), (c) => c.json(sessionReply(c.var.auth, c.var.config)))

  app.delete('/v1/session', async (c) => {
    const auth = await authenticateRequest(c)
    await end(c.var.deps, auth.session)
    logEvent('session_ended', { sid: sessionRef(auth.session.id) })
    clearSession(c)
    return c.body(null, 204)
  })

  app.get('/v1/session/data', requireSession(), getData)
  app.put('/v1/session/data', requireSession(), putData)
  app.route('/v1/admin', adminRoutes())

  for (const path of ['/healthz', '/v1/sessions', '/v1/session', '/v1/session/data']) {
    app.all(path, () => problem('method_not_allowed'))
  }
  return app
}
