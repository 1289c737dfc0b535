/**
 * Settings: the Worker's env turned into one typed, validated Config. A bad value throws a
 * ConfigError that names the setting (never its value, which may be a secret); the edge answers
 * such a request with a 500 and logs the name. Nothing falls back silently.
 */
import { MIN_SECRET_BYTES } from './jwt/keys'

export type IdentifyBy = 'ip' | 'token'
export type IpBinding = 'strict' | 'off'
export type RevocationMode = 'fast' | 'strict'

export type Config = {
  secret: string
  previousSecret: string | undefined
  adminToken: string | undefined
  identifyBy: IdentifyBy
  ipBinding: IpBinding
  ipv6PrefixBits: number
  idleTimeoutSeconds: number
  maxAgeSeconds: number
  refreshAfterSeconds: number
  revocation: RevocationMode
  issuer: string
  audience: string
  clockSkewSeconds: number
  allowedOrigins: readonly string[]
  storeClientIp: boolean
  retentionSeconds: number
  cookieName: string
  storageTimeoutMs: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly setting: string

  constructor(setting: string, rule: string) {
    super(`setting ${setting} ${rule}`)
    this.setting = setting
  }
}

/** Upper bound of CLOCK_SKEW_SECONDS: past five minutes a skew hides a broken clock. */
const MAX_CLOCK_SKEW_SECONDS = 300
/** One year: no idle timeout, absolute age or retention needs more. */
const MAX_DURATION_SECONDS = 31_536_000
/**
 * Default bound on one D1 or KV call: D1 and KV answer in milliseconds to a few hundred; past five
 * seconds a client is better served by a 503 it can retry.
 */
const STORAGE_TIMEOUT_MS = 5000
/** Upper bound of STORAGE_TIMEOUT_MS: a minute, longer than any client waits. */
const MAX_TIMEOUT_MS = 60_000
/** Shortest useful admin token: 128 bits as 32 hex digits. */
const MIN_ADMIN_TOKEN_LENGTH = 32

const cache = new WeakMap<object, Config>()

/**
 * Parses and validates the env once per env object. Throws ConfigError.
 * @example const config = loadConfig(env) // config.idleTimeoutSeconds === 1800
 */
export function loadConfig(env: Env): Config {
  const cached = cache.get(env)
  if (cached !== undefined) {
    return cached
  }
  const config = parseConfig(env)
  cache.set(env, config)
  return config
}

function parseConfig(env: Env): Config {
  const idleTimeoutSeconds = integer(env, 'IDLE_TIMEOUT_SECONDS', 1800, 1, MAX_DURATION_SECONDS)
  const maxAgeSeconds = integer(env, 'MAX_AGE_SECONDS', 43_200, 1, MAX_DURATION_SECONDS)
  const config: Config = {
    secret: secret(env, 'SESSION_SECRET', true) as string,
    previousSecret: secret(env, 'SESSION_SECRET_PREVIOUS', false),
    adminToken: adminToken(env),
    identifyBy: oneOf(env, 'IDENTIFY_BY', ['ip', 'token'] as const, 'ip'),
    ipBinding: oneOf(env, 'IP_BINDING', ['strict', 'off'] as const, 'strict'),
    ipv6PrefixBits: integer(env, 'IPV6_PREFIX_BITS', 64, 32, 128),
    idleTimeoutSeconds,
    maxAgeSeconds,
    refreshAfterSeconds: integer(env, 'REFRESH_AFTER_SECONDS', 0, 0, idleTimeoutSeconds - 1),
    revocation: oneOf(env, 'REVOCATION', ['fast', 'strict'] as const, 'fast'),
    issuer: text(env, 'TOKEN_ISSUER', 'edge-sessions'),
    audience: text(env, 'TOKEN_AUDIENCE', 'edge-sessions'),
    clockSkewSeconds: integer(env, 'CLOCK_SKEW_SECONDS', 0, 0, MAX_CLOCK_SKEW_SECONDS),
    allowedOrigins: origins(env),
    storeClientIp: boolean(env, 'STORE_CLIENT_IP', false),
    retentionSeconds: integer(env, 'RETENTION_SECONDS', 86_400, 0, MAX_DURATION_SECONDS),
    cookieName: cookieName(env),
    storageTimeoutMs: integer(env, 'STORAGE_TIMEOUT_MS', STORAGE_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
  }
  return config
}

type Name = keyof Env & string

function raw(env: Env, name: Name): string | undefined {
  const value = env[name]
  if (value === undefined || value === null) {
    return undefined
  }
  if (typeof value !== 'string') {
    throw new ConfigError(name, 'must be a string')
  }
  return value.trim() === '' ? undefined : value.trim()
}

function integer(env: Env, name: Name, fallback: number, min: number, max: number): number {
  const value = raw(env, name)
  if (value === undefined) {
    return fallback
  }
  if (!/^\d{1,10}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`)
  }
  return Number(value)
}

function oneOf<T extends string>(env: Env, name: Name, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name)
  if (value === undefined) {
    return fallback
  }
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}`)
  }
  return value as T
}

function boolean(env: Env, name: Name, fallback: boolean): boolean {
  const value = raw(env, name)
  if (value === undefined) {
    return fallback
  }
  if (value !== 'true' && value !== 'false') {
    throw new ConfigError(name, 'must be true or false')
  }
  return value === 'true'
}

function text(env: Env, name: Name, fallback: string): string {
  const value = raw(env, name) ?? fallback
  if (value.length > 256) {
    throw new ConfigError(name, 'must be at most 256 characters')
  }
  return value
}

function secret(env: Env, name: Name, required: boolean): string | undefined {
  const value = env[name]
  if (value === undefined || value === '') {
    if (required) {
      throw new ConfigError(name, 'is missing (run `wrangler secret put` or `npm start`)')
    }
    return undefined
  }
  if (typeof value !== 'string' || new TextEncoder().encode(value).length < MIN_SECRET_BYTES) {
    throw new ConfigError(name, `must be at least ${MIN_SECRET_BYTES} bytes`)
  }
  return value
}

function adminToken(env: Env): string | undefined {
  const value = env.ADMIN_TOKEN
  if (value === undefined || value === '') {
    return undefined
  }
  if (typeof value !== 'string' || value.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError('ADMIN_TOKEN', `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`)
  }
  return value
}

function origins(env: Env): readonly string[] {
  const value = raw(env, 'ALLOWED_ORIGINS')
  if (value === undefined) {
    return []
  }
  return value.split(',').map((entry) => {
    const origin = entry.trim()
    let parsed: URL | undefined
    try {
      parsed = new URL(origin)
    } catch {
      parsed = undefined
    }
    if (parsed === undefined || parsed.origin !== origin || origin === 'null') {
      throw new ConfigError('ALLOWED_ORIGINS', 'must be a comma-separated list of origins')
    }
    return origin
  })
}

function cookieName(env: Env): string {
  const value = raw(env, 'COOKIE_NAME') ?? '__Host-session'
  if (!/^__Host-[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new ConfigError('COOKIE_NAME', 'must be __Host- followed by letters, digits, _ or -')
  }
  return value
}
