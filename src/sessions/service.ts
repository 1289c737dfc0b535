/**
 * The session lifecycle: start or resume, authenticate and slide, end, and the session's data.
 *
 * Hot path (REVOCATION=fast): a live token is authorised by its signature, its client tag and one
 * KV read; the idle-deadline write goes to the SlideQueue and runs after the response. D1 is read
 * only when the token has expired (the session may have been slid by another token of it), in
 * REVOCATION=strict, for session data, and for clients that come without a token in IDENTIFY_BY=ip.
 *
 * Revocation is D1 first, KV second. Every D1 reader sees it at once; a request that finds it in D1
 * lists it in KV when it is missing there, so fast-mode tokens of the session die too.
 *
 * Trade-off accepted: in fast mode a slide that fails after the response is logged, not reported.
 * The fresh token the client already holds carries the new deadline and is honoured on its own, so
 * the session stays usable for exactly the time the response said; only a tokenless resume by IP
 * sees the older D1 deadline.
 */
import { clientHasher, clientTag } from '../client/hash'
import { ClientIpError, canonicalIp, clientKey } from '../client/ip'
import { ConfigError, type Config } from '../config'
import { ServiceError } from '../errors'
import { JwtError, JwtExpiredError } from '../jwt/errors'
import type { KeyRing, RingKey } from '../jwt/keys'
import { encode } from '../jwt/base64url'
import { isRevoked, markRevoked } from './revocations'
import type { SlideQueue } from './slides'
import * as store from './store'
import {
  issueToken,
  sessionClaims,
  verifyToken,
  type SessionClaims,
  type TokenRules,
} from './token'

/** 128 random bits of session id (OWASP session management: at least 64 bits of entropy). */
const SESSION_ID_BYTES = 16

/** Seconds a rate-limited client waits: the limiter's window. */
export const RATE_LIMIT_RETRY_AFTER_SECONDS = 60

export type SessionDeps = {
  db: D1Database
  kv: KVNamespace
  limiter: RateLimit | undefined
  config: Config
  ring: KeyRing
  slides: SlideQueue
  /** Current time, Unix seconds. */
  now: number
  /** Keeps work running after the response (ExecutionContext.waitUntil). */
  defer: (work: Promise<unknown>) => void
}

export type SessionView = {
  id: string
  createdAt: number
  lastSeenAt: number
  idleExpiresAt: number
  absoluteExpiresAt: number
}

export type Authenticated = {
  session: SessionView
  token: string
  tokenExpiresAt: number
  /** True when this request minted a new token. */
  reissued: boolean
}

export type Started = Authenticated & { created: boolean }

/** The request's client, resolved lazily: the IP is parsed and hashed only when needed. */
export class Client {
  private readonly raw: string | undefined
  private readonly prefixBits: number
  private readonly hashes = new Map<string, Promise<string>>()

  constructor(raw: string | undefined, prefixBits: number) {
    this.raw = raw
    this.prefixBits = prefixBits
  }

  /** The canonical client key; throws client_ip_missing or client_ip_invalid. */
  key(): string {
    if (this.raw === undefined) {
      throw new ServiceError('client_ip_missing', 'CF-Connecting-IP is missing')
    }
    try {
      return clientKey(this.raw, this.prefixBits)
    } catch (error) {
      if (error instanceof ClientIpError) {
        throw new ServiceError('client_ip_invalid', 'client address is not one IP address')
      }
      throw error
    }
  }

  /** The canonical address, for operators who opted in to storing it. */
  address(): string {
    this.key()
    return canonicalIp(this.raw!)
  }

  /** The keyed hash of the client key under one ring key's derived hashing key. */
  hash(key: RingKey): Promise<string> {
    let hash = this.hashes.get(key.kid)
    if (hash === undefined) {
      const clientKeyText = this.key()
      hash = clientHasher(key.secret).then((h) => h(clientKeyText))
      this.hashes.set(key.kid, hash)
    }
    return hash
  }
}

function rules(config: Config): TokenRules {
  return {
    issuer: config.issuer,
    audience: config.audience,
    idleTimeoutSeconds: config.idleTimeoutSeconds,
    clockSkewSeconds: config.clockSkewSeconds,
  }
}

function deadline(deps: SessionDeps, absoluteExpiresAt: number): number {
  return Math.min(deps.now + deps.config.idleTimeoutSeconds, absoluteExpiresAt)
}

/**
 * Authenticates a request by its token or, in IDENTIFY_BY=ip without one, by its client, and
 * slides the session. Throws ServiceError with the reason.
 * @example const auth = await authenticate(deps, bearerToken, new Client(ip, 64))
 */
export async function authenticate(
  deps: SessionDeps,
  token: string | undefined,
  client: Client
): Promise<Authenticated> {
  if (token === undefined) {
    if (deps.config.identifyBy !== 'ip') {
      throw new ServiceError('token_missing', 'no session token was presented')
    }
    const resumed = await resumeByClient(deps, client)
    if (resumed === null) {
      throw new ServiceError('session_not_found', 'this client has no live session')
    }
    return resumed
  }

  const { claims, key, expired } = await checkToken(deps, token)
  if (deps.config.ipBinding === 'strict' && clientTag(await client.hash(key)) !== claims.ckt) {
    throw new ServiceError('client_changed', 'token was issued to another client key')
  }
  if (expired || deps.config.revocation === 'strict') {
    return fromStore(deps, claims, token, client, expired, key)
  }
  if (await isRevoked(deps.kv, claims.sub)) {
    throw new ServiceError('session_revoked', 'session is listed as revoked')
  }
  return slideFast(deps, claims, token, client, key)
}

async function checkToken(
  deps: SessionDeps,
  token: string
): Promise<{ claims: SessionClaims; key: RingKey; expired: boolean }> {
  try {
    const { claims, key } = await verifyToken(token, deps.ring, rules(deps.config), deps.now)
    return { claims, key, expired: false }
  } catch (error) {
    if (error instanceof JwtExpiredError) {
      const claims = sessionClaimsOrInvalid(error.claims)
      return { claims, key: deps.ring.lookup(error.kid)!, expired: true }
    }
    if (error instanceof JwtError) {
      throw new ServiceError('token_invalid', error.code, { cause: error })
    }
    throw error
  }
}

function sessionClaimsOrInvalid(claims: Record<string, unknown>): SessionClaims {
  try {
    return sessionClaims(claims)
  } catch (error) {
    throw new ServiceError('token_invalid', 'ERR_JWT_CLAIM_INVALID', { cause: error })
  }
}

/** A live token in fast mode: no D1 read; the slide is written after the response. */
async function slideFast(
  deps: SessionDeps,
  claims: SessionClaims,
  token: string,
  client: Client,
  key: RingKey
): Promise<Authenticated> {
  const next = deadline(deps, claims.max_exp)
  const due = deps.now - claims.iat >= deps.config.refreshAfterSeconds && next > claims.exp
  if (due) {
    deps.defer(deps.slides.schedule(claims.sub, deps.now, next))
  }
  const session: SessionView = {
    id: claims.sub,
    createdAt: claims.created_at,
    lastSeenAt: deps.now,
    idleExpiresAt: due ? next : claims.exp,
    absoluteExpiresAt: claims.max_exp,
  }
  return answer(deps, session, { token, claims, key }, client)
}

/**
 * D1 decides: an expired token whose session was slid elsewhere, or REVOCATION=strict. A due slide
 * and the liveness check are one conditional UPDATE; between slides it is one read.
 */
async function fromStore(
  deps: SessionDeps,
  claims: SessionClaims,
  token: string,
  client: Client,
  expired: boolean,
  key: RingKey
): Promise<Authenticated> {
  const next = deadline(deps, claims.max_exp)
  const refresh = deps.config.refreshAfterSeconds
  const due = expired || (deps.now - claims.iat >= refresh && next > claims.exp)
  const row = due
    ? await store.touchIfAlive(deps.db, claims.sub, deps.now, next, refresh)
    : await store.findLive(deps.db, claims.sub, deps.now)
  if (row === null) {
    throw await whyNotLive(deps, claims.sub)
  }
  const session = { ...seenNow(deps, row), lastSeenAt: deps.now }
  return answer(deps, session, { token, claims, key }, client)
}

/**
 * Hands back the presented token while it covers the session's deadline and was signed with the
 * current key; otherwise mints a fresh one, so a rotation moves clients to the new key on first use.
 */
async function answer(
  deps: SessionDeps,
  session: SessionView,
  presented: { token: string; claims: SessionClaims; key: RingKey },
  client: Client
): Promise<Authenticated> {
  const { token, claims, key } = presented
  if (key === deps.ring.current && session.idleExpiresAt <= claims.exp) {
    return { session, token, tokenExpiresAt: claims.exp, reissued: false }
  }
  const fresh = await mint(deps, session, client, claims.ckt)
  return { session, token: fresh, tokenExpiresAt: session.idleExpiresAt, reissued: true }
}

/**
 * Why D1 holds no live session of this id. A revocation found in D1 is listed in KV again when it
 * is missing there (its KV write may have failed after the D1 one), so that fast-mode tokens of the
 * session die too; a failure to do so is a 503, never a pass.
 */
async function whyNotLive(deps: SessionDeps, id: string): Promise<ServiceError> {
  const row = await store.findSession(deps.db, id)
  if (row === null || row.revokedAt === null) {
    return new ServiceError('session_expired', 'session has ended or is unknown')
  }
  if (row.absoluteExpiresAt > deps.now && !(await isRevoked(deps.kv, id))) {
    await markRevoked(deps.kv, id, row.absoluteExpiresAt, deps.now)
  }
  return new ServiceError('session_revoked', 'session is revoked in D1')
}

/** The live session of this client key, slid; null when it has none. */
async function resumeByClient(deps: SessionDeps, client: Client): Promise<Authenticated | null> {
  const live = await findLiveOfClient(deps, client)
  if (live === null) {
    return null
  }
  const next = deadline(deps, live.absoluteExpiresAt)
  const refresh = deps.config.refreshAfterSeconds
  const row = await store.touchIfAlive(deps.db, live.id, deps.now, next, refresh)
  if (row === null) {
    return null
  }
  const session = { ...seenNow(deps, row), lastSeenAt: deps.now }
  const token = await mint(deps, session, client, undefined)
  return { session, token, tokenExpiresAt: session.idleExpiresAt, reissued: true }
}

/**
 * The newest live session stored under this client's hash. During a secret rotation a session
 * started under the previous secret is stored under that secret's hash, so it is looked up too.
 */
async function findLiveOfClient(
  deps: SessionDeps,
  client: Client
): Promise<store.SessionRow | null> {
  const current = await client.hash(deps.ring.current)
  const live = await store.findLiveByClient(deps.db, current, deps.now)
  const previous = deps.ring.previous
  if (live !== null || previous === undefined) {
    return live
  }
  return store.findLiveByClient(deps.db, await client.hash(previous), deps.now)
}

/** Token problems after which a start simply begins again instead of failing. */
const RESTARTABLE = new Set([
  'token_invalid',
  'session_expired',
  'session_revoked',
  'client_changed',
  'session_not_found',
])

/**
 * Starts a session or resumes one: by a live token, then (IDENTIFY_BY=ip) by the client key,
 * else creates one, subject to the per-client creation limit.
 * @example const { created, token } = await start(deps, undefined, new Client(ip, 64))
 */
export async function start(
  deps: SessionDeps,
  token: string | undefined,
  client: Client
): Promise<Started> {
  if (token !== undefined) {
    try {
      return { ...(await authenticate(deps, token, client)), created: false }
    } catch (error) {
      if (!(error instanceof ServiceError) || !RESTARTABLE.has(error.code)) {
        throw error
      }
    }
  }
  const hash = await client.hash(deps.ring.current)
  const byIp = deps.config.identifyBy === 'ip'
  const resumed = byIp ? await resumeByClient(deps, client) : null
  if (resumed !== null) {
    return { ...resumed, created: false }
  }
  await checkCreationLimit(deps, hash)
  const row = newRow(deps, hash, client)
  if (!(await store.insertSession(deps.db, row, byIp))) {
    const raced = await resumeByClient(deps, client)
    if (raced === null) {
      throw new ServiceError(
        'storage_unavailable',
        'session insert lost a race and found no session',
        {
          retryAfterSeconds: store.STORAGE_RETRY_AFTER_SECONDS,
        }
      )
    }
    return { ...raced, created: false }
  }
  const session = view(row)
  const fresh = await mint(deps, session, client, undefined)
  return {
    session,
    token: fresh,
    tokenExpiresAt: session.idleExpiresAt,
    reissued: true,
    created: true,
  }
}

/**
 * Asks the rate-limiting binding whether this client key may create one more session. A missing
 * binding is a configuration error, never an unlimited service.
 */
async function checkCreationLimit(deps: SessionDeps, clientKeyHash: string): Promise<void> {
  const limiter = deps.limiter
  if (limiter === undefined) {
    throw new ConfigError(
      'CREATE_LIMITER',
      'binding is missing (see [[ratelimits]] in wrangler.toml)'
    )
  }
  const outcome = await store.guardStorage('rate limiter', () =>
    limiter.limit({ key: clientKeyHash })
  )
  if (!outcome.success) {
    throw new ServiceError('rate_limited', 'session creation limit reached for this client key', {
      retryAfterSeconds: RATE_LIMIT_RETRY_AFTER_SECONDS,
    })
  }
}

function newRow(deps: SessionDeps, clientKeyHash: string, client: Client): store.SessionRow {
  const absoluteExpiresAt = deps.now + deps.config.maxAgeSeconds
  return {
    id: encode(crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES))),
    clientKeyHash,
    clientIp: deps.config.storeClientIp ? client.address() : null,
    createdAt: deps.now,
    lastSeenAt: deps.now,
    idleExpiresAt: deadline(deps, absoluteExpiresAt),
    absoluteExpiresAt,
    revokedAt: null,
    data: '{}',
    dataVersion: 1,
  }
}

/**
 * Ends a session: revoked in D1, then listed in KV until after its absolute deadline. D1 goes first
 * because every reader that consults D1 (strict mode, expired tokens, resume by IP, data) trusts
 * it; a KV listing without the D1 row would leave those readers serving the session. Either write
 * failing is a 503 and a retry is safe.
 * @example await end(deps, auth.session)
 */
export async function end(deps: SessionDeps, session: SessionView): Promise<void> {
  await store.revokeSession(deps.db, session.id, deps.now)
  await markRevoked(deps.kv, session.id, session.absoluteExpiresAt, deps.now)
}

export type SessionData = { data: Record<string, unknown>; version: number }

/**
 * Reads an authenticated session's data and its version.
 * @example const { data, version } = await readData(deps, auth.session)
 */
export async function readData(deps: SessionDeps, session: SessionView): Promise<SessionData> {
  const row = await store.findData(deps.db, session.id, deps.now)
  if (row === null) {
    throw await whyNotLive(deps, session.id)
  }
  return dataOf(row)
}

/**
 * Replaces an authenticated session's data if its version is still `expectedVersion`: one
 * conditional UPDATE; only when it changed nothing does a read tell 412 from an ended session.
 * @example await writeData(deps, auth.session, '{"theme":"dark"}', 1)
 */
export async function writeData(
  deps: SessionDeps,
  session: SessionView,
  json: string,
  expectedVersion: number
): Promise<SessionData> {
  const row = await store.replaceData(deps.db, session.id, json, expectedVersion, deps.now)
  if (row !== null) {
    return dataOf(row)
  }
  if ((await store.findData(deps.db, session.id, deps.now)) === null) {
    throw await whyNotLive(deps, session.id)
  }
  throw new ServiceError('precondition_failed', 'data version has moved on')
}

function dataOf(row: store.DataRow): SessionData {
  return { data: JSON.parse(row.data) as Record<string, unknown>, version: row.dataVersion }
}

async function mint(
  deps: SessionDeps,
  session: SessionView,
  client: Client,
  previousTag: string | undefined
): Promise<string> {
  const keepTag = deps.config.ipBinding === 'off' && previousTag !== undefined
  const ckt = keepTag ? previousTag : clientTag(await client.hash(deps.ring.current))
  return issueToken(deps.ring, rules(deps.config), {
    sub: session.id,
    ckt,
    iat: deps.now,
    exp: Math.min(session.idleExpiresAt, deps.now + deps.config.idleTimeoutSeconds),
    created_at: session.createdAt,
    max_exp: session.absoluteExpiresAt,
  })
}

/**
 * A row as this request sees it. The clock that last slid it may run a second ahead of ours (another
 * location, another isolate), so its idle deadline is held to the idle timeout from our `now`.
 */
function seenNow(deps: SessionDeps, row: store.SessionRow): SessionView {
  const session = view(row)
  const limit = deps.now + deps.config.idleTimeoutSeconds
  return { ...session, idleExpiresAt: Math.min(session.idleExpiresAt, limit) }
}

function view(row: store.SessionRow): SessionView {
  return {
    id: row.id,
    createdAt: row.createdAt,
    lastSeenAt: row.lastSeenAt,
    idleExpiresAt: row.idleExpiresAt,
    absoluteExpiresAt: row.absoluteExpiresAt,
  }
}
