import type { Config } from '../config'
import type { Authenticated, Client, SessionDeps } from '../sessions/service'

/** How the request presented its session: Authorization header, cookie, or neither. */
export type Via = 'bearer' | 'cookie' | 'none'

export type AppEnv = {
  Bindings: Env
  Variables: {
    config: Config
    deps: SessionDeps
    client: Client
    auth: Authenticated
    via: Via
  }
}

/** Current time in Unix seconds; tests pass their own. */
export type Clock = () => number

export const systemClock: Clock = () => Math.floor(Date.now() / 1000)
