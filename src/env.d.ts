/** Bindings and settings the Worker receives; see wrangler.toml and README "Configuration". */
interface Env {
  DB: D1Database
  REVOCATIONS: KVNamespace
  CREATE_LIMITER?: RateLimit
  SESSION_SECRET?: string
  SESSION_SECRET_PREVIOUS?: string
  ADMIN_TOKEN?: string
  IDENTIFY_BY?: string
  IP_BINDING?: string
  IPV6_PREFIX_BITS?: string
  IDLE_TIMEOUT_SECONDS?: string
  MAX_AGE_SECONDS?: string
  REFRESH_AFTER_SECONDS?: string
  REVOCATION?: string
  TOKEN_ISSUER?: string
  TOKEN_AUDIENCE?: string
  CLOCK_SKEW_SECONDS?: string
  ALLOWED_ORIGINS?: string
  STORE_CLIENT_IP?: string
  RETENTION_SECONDS?: string
  COOKIE_NAME?: string
  STORAGE_TIMEOUT_MS?: string
}

declare namespace Cloudflare {
  interface Env extends globalThis.Env {}
}
