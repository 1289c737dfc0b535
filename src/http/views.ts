import type { Config } from '../config'
import type { Authenticated, SessionView } from '../sessions/service'

/** Unix seconds as ISO-8601 UTC. */
export function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

export function sessionJson(session: SessionView, config: Config) {
  return {
    id: session.id,
    createdAt: iso(session.createdAt),
    lastSeenAt: iso(session.lastSeenAt),
    expiresAt: iso(session.idleExpiresAt),
    absoluteExpiresAt: iso(session.absoluteExpiresAt),
    idleTimeoutSeconds: config.idleTimeoutSeconds,
  }
}

/** The body of every session reply: the session, its token, and how the client is identified. */
export function sessionReply(auth: Authenticated, config: Config) {
  return {
    session: sessionJson(auth.session, config),
    token: auth.token,
    tokenExpiresAt: iso(auth.tokenExpiresAt),
    client: { identifyBy: config.identifyBy, ipBinding: config.ipBinding },
  }
}
