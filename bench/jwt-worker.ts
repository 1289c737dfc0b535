/**
 * The JWT micro-benchmark Worker, run inside workerd by bench/jwt.mjs. Every case signs the same
 * session claim set and verifies the same token bytes (ours, HS256 with a `kid`, under one secret),
 * in a time-bounded loop after a warm-up. Every result is checked: a verify that fails or a sign
 * that returns no token ends the run with a 500, so a broken case can never look fast.
 *
 * Routes: `GET /check` proves each case agrees with ours and refuses a forged token;
 * `GET /run?case=NAME&op=sign|verify&ms=N` runs one loop and returns its count;
 * `GET /steps?ms=N` times the steps of our verify one by one, in microseconds per call.
 */
import tsndr from '@tsndr/cloudflare-worker-jwt'
import { sign as honoSign, verify as honoVerify } from 'hono/jwt'
import { SignJWT, jwtVerify } from 'jose'
import { decode, encode } from '../src/jwt/base64url'
import { parseJsonObject } from '../src/jwt/json'
import { signJws, verifyJws } from '../src/jwt/jws'
import { loadKeyRing, type KeyRing } from '../src/jwt/keys'
import { issueToken, verifyToken, type TokenRules } from '../src/sessions/token'

type BenchEnv = { BENCH_SECRET: string }

type Case = {
  sign: () => Promise<string>
  verify: () => Promise<void>
}

type Keys = {
  ring: KeyRing
  /** The same secret imported once as a CryptoKey, for the peers that accept one. */
  key: CryptoKey
  secret: string
  /** The token every verify case checks, and its signing input and signature as bytes. */
  token: string
  signed: Uint8Array
  signature: Uint8Array
}

type Fixture = { keys: Keys; cases: Record<string, Case>; forged: Record<string, Case> }

/** Operations run before timing starts, so every case is measured warm (JIT, key caches). */
const WARM_UP_OPS = 500
/** Operations between clock readings. */
const BATCH_OPS = 32
/** Longest loop one request may ask for, milliseconds. */
const MAX_LOOP_MS = 10_000
/** HMAC-SHA-256 output length, bytes. */
const MAC_BYTES = 32

const RULES: TokenRules = {
  issuer: 'edge-sessions',
  audience: 'edge-sessions',
  idleTimeoutSeconds: 1800,
  clockSkewSeconds: 0,
}
const SESSION_ID = encode(new Uint8Array(16).fill(7))
const CLIENT_TAG = 'AbCdEfGhIjKlMnOp'
const ABSOLUTE_AGE_SECONDS = 43_200

let fixture: Promise<Fixture> | undefined

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

function freshJti(): string {
  return encode(crypto.getRandomValues(new Uint8Array(12)))
}

/** Our claims without the ones issueToken adds (iss, aud, jti). */
function ownClaims(now: number) {
  return {
    sub: SESSION_ID,
    ckt: CLIENT_TAG,
    iat: now,
    exp: now + RULES.idleTimeoutSeconds,
    created_at: now,
    max_exp: now + ABSOLUTE_AGE_SECONDS,
  }
}

/** The full claim set a peer is asked to sign: the same members, with a fresh `jti`. */
function fullClaims() {
  return { iss: RULES.issuer, aud: RULES.audience, jti: freshJti(), ...ownClaims(nowSeconds()) }
}

function expectSubject(payload: object | undefined): void {
  if ((payload as { sub?: unknown } | undefined)?.sub !== SESSION_ID) {
    throw new Error('verify returned the wrong claims')
  }
}

function expectToken(token: string): string {
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw new Error('sign returned no compact token')
  }
  return token
}

async function buildFixture(secret: string): Promise<Fixture> {
  const ring = await loadKeyRing(secret)
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify']
  )
  const token = await issueToken(ring, RULES, ownClaims(nowSeconds()))
  const dot = token.lastIndexOf('.')
  const signed = new TextEncoder().encode(token.slice(0, dot))
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, signed))
  const keys: Keys = { ring, key, secret, token, signed, signature }
  const flipped = signature.map((b) => b ^ 1)
  const forgedToken = token.slice(0, dot + 1) + encode(flipped)
  const forged = cases({ ...keys, token: forgedToken, signature: flipped })
  return { keys, cases: cases(keys), forged }
}

function cases(k: Keys): Record<string, Case> {
  const honoOptions = { alg: 'HS256' as const, iss: RULES.issuer, aud: RULES.audience }
  return {
    ours: {
      sign: async () => issueToken(k.ring, RULES, ownClaims(nowSeconds())),
      verify: async () => {
        expectSubject((await verifyToken(k.token, k.ring, RULES, nowSeconds())).claims)
      },
    },
    'ours, JWS layer only': {
      sign: async () => signJws(fullClaims(), k.ring.current),
      verify: async () => expectSubject((await verifyJws(k.token, k.ring.lookup)).payload),
    },
    'hono/jwt, string secret': {
      sign: async () => honoSign(fullClaims(), k.secret, 'HS256'),
      verify: async () => expectSubject(await honoVerify(k.token, k.secret, honoOptions)),
    },
    'hono/jwt, CryptoKey': {
      sign: async () => honoSign(fullClaims(), k.key, 'HS256'),
      verify: async () => expectSubject(await honoVerify(k.token, k.key, honoOptions)),
    },
    'jose, CryptoKey': {
      sign: async () =>
        new SignJWT(fullClaims())
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: k.ring.current.kid })
          .sign(k.key),
      verify: async () => {
        const { payload } = await jwtVerify(k.token, k.key, {
          algorithms: ['HS256'],
          issuer: RULES.issuer,
          audience: RULES.audience,
        })
        expectSubject(payload)
      },
    },
    '@tsndr/cloudflare-worker-jwt, string secret': tsndrCase(k, k.secret),
    '@tsndr/cloudflare-worker-jwt, CryptoKey': tsndrCase(k, k.key),
    'bare crypto.subtle': {
      sign: async () => {
        const mac = await crypto.subtle.sign('HMAC', k.key, k.signed)
        return mac.byteLength === MAC_BYTES ? k.token : ''
      },
      verify: async () => {
        if (!(await crypto.subtle.verify('HMAC', k.key, k.signature, k.signed))) {
          throw new Error('bare verify refused the signature')
        }
      },
    },
  }
}

function tsndrCase(k: Keys, secret: string | CryptoKey): Case {
  const header = { typ: 'JWT', kid: k.ring.current.kid }
  return {
    sign: async () => tsndr.sign(fullClaims(), secret, { algorithm: 'HS256', header }),
    verify: async () => {
      const result = await tsndr.verify(k.token, secret, { algorithm: 'HS256', throwError: true })
      expectSubject(result?.payload)
    },
  }
}

/**
 * Every case verifies our token, signs a token ours verifies, and refuses the same token with one
 * bit of its signature flipped.
 */
async function check(f: Fixture): Promise<Record<string, string>> {
  const report: Record<string, string> = {}
  for (const [name, c] of Object.entries(f.cases)) {
    await c.verify()
    await verifyToken(expectToken(await c.sign()), f.keys.ring, RULES, nowSeconds())
    report[name] = (await refuses(f.forged[name]!)) ? 'ok' : 'accepted a forged signature'
  }
  return report
}

async function refuses(c: Case): Promise<boolean> {
  try {
    await c.verify()
    return false
  } catch {
    return true
  }
}

async function loop(op: () => Promise<unknown>, ms: number) {
  for (let i = 0; i < WARM_UP_OPS; i++) {
    await op()
  }
  const start = performance.now()
  let ops = 0
  let elapsed = 0
  do {
    for (let i = 0; i < BATCH_OPS; i++) {
      await op()
    }
    ops += BATCH_OPS
    elapsed = performance.now() - start
  } while (elapsed < ms)
  return { ops, ms: elapsed, warmUpOps: WARM_UP_OPS }
}

/** Our verify path taken apart, each step on the same token, so the cost of each is visible. */
function steps(k: Keys): Record<string, () => Promise<unknown>> {
  const [header, payload, signature] = k.token.split('.') as [string, string, string]
  const signingInput = k.token.slice(0, k.token.lastIndexOf('.'))
  const ascii = new TextEncoder()
  const parsed = (part: string) => {
    const value = parseJsonObject(decode(part)!)
    if (value === undefined) {
      throw new Error('a token part did not parse')
    }
    return value
  }
  return {
    'HMAC verify over ready bytes (bare crypto.subtle)': cases(k)['bare crypto.subtle']!.verify,
    'signing input to bytes + signature base64url decode': async () =>
      [ascii.encode(signingInput), decode(signature)] as const,
    'header: base64url decode + strict JSON parse': async () => parsed(header),
    'payload: base64url decode + strict JSON parse': async () => parsed(payload),
    'JWS layer: all of the above, checks, key lookup': cases(k)['ours, JWS layer only']!.verify,
    'token: JWS layer + claim rules (the Worker path)': cases(k).ours!.verify,
  }
}

async function timeSteps(k: Keys, ms: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const [name, step] of Object.entries(steps(k))) {
    const { ops, ms: took } = await loop(step, ms)
    out[name] = (took * 1000) / ops
  }
  return out
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url)
    fixture ??= buildFixture(env.BENCH_SECRET)
    const f = await fixture
    const ms = Math.min(Number(url.searchParams.get('ms') ?? 500), MAX_LOOP_MS)
    if (url.pathname === '/check') {
      return Response.json(await check(f))
    }
    if (url.pathname === '/steps') {
      return Response.json(await timeSteps(f.keys, ms))
    }
    const c = f.cases[url.searchParams.get('case') ?? '']
    const op = url.searchParams.get('op')
    if (c === undefined || (op !== 'sign' && op !== 'verify')) {
      return new Response('unknown case or op', { status: 404 })
    }
    const run = op === 'sign' ? async () => expectToken(await c.sign()) : c.verify
    return Response.json(await loop(run, ms))
  },
}
