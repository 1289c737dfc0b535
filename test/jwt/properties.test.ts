/**
 * Properties of token verification, checked with fast-check: no change to a valid token survives,
 * and no input, at the verifier or over HTTP, ends in anything but a typed refusal.
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { JwtError } from '../../src/jwt/errors'
import { loadKeyRing, type KeyRing } from '../../src/jwt/keys'
import { issueToken, verifyToken, type TokenRules } from '../../src/sessions/token'
import { bearer, freshIp, harness, startSession, T0, type Harness } from '../helpers/harness'

const SECRET = 'properties-secret-0123456789abcdef012'
const NOW = 1_800_000_000
const RULES: TokenRules = {
  issuer: 'edge-sessions',
  audience: 'edge-sessions',
  idleTimeoutSeconds: 1800,
  clockSkewSeconds: 0,
}

/** Runs per verifier property: each run is one HMAC, so a thousand take well under a second. */
const VERIFIER_RUNS = 1000
/** Runs per HTTP property: each run is one request through the app on local D1 and KV. */
const HTTP_RUNS = 300

let ring: KeyRing
let token: string

beforeAll(async () => {
  ring = await loadKeyRing(SECRET)
  token = await issueToken(ring, RULES, {
    sub: 'c2Vzc2lvbi1pZC0xMjM0NQ',
    ckt: 'tag-0123456789ab',
    iat: NOW,
    exp: NOW + 1800,
    created_at: NOW,
    max_exp: NOW + 43_200,
  })
})

/** Verifies and reports the outcome: 'accepted', a JwtError code, or the name of anything else. */
async function outcome(candidate: string): Promise<string> {
  try {
    await verifyToken(candidate, ring, RULES, NOW)
    return 'accepted'
  } catch (error) {
    return error instanceof JwtError ? error.code : `untyped ${(error as Error).name}`
  }
}

const refused = (result: string) => result !== 'accepted' && !result.startsWith('untyped')

describe('a valid token survives no change (verifier)', () => {
  it('is accepted unchanged', async () => {
    expect(await outcome(token)).toBe('accepted')
  })

  it(`refuses any single character replaced by any other code unit (${VERIFIER_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 10_000 }),
        fc.oneof(fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 0xffff })),
        async (position, code) => {
          const i = position % token.length
          fc.pre(token.charCodeAt(i) !== code)
          const changed = token.slice(0, i) + String.fromCharCode(code) + token.slice(i + 1)
          expect(refused(await outcome(changed))).toBe(true)
        }
      ),
      { numRuns: VERIFIER_RUNS }
    )
  })

  it(`refuses any single bit flipped in any character (${VERIFIER_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 10_000 }), fc.nat({ max: 6 }), async (position, bit) => {
        const i = position % token.length
        const flipped = String.fromCharCode(token.charCodeAt(i) ^ (1 << bit))
        expect(refused(await outcome(token.slice(0, i) + flipped + token.slice(i + 1)))).toBe(true)
      }),
      { numRuns: VERIFIER_RUNS }
    )
  })

  it('refuses every truncation: each proper prefix and each proper suffix', async () => {
    for (let n = 0; n < token.length; n++) {
      expect(refused(await outcome(token.slice(0, n)))).toBe(true)
      expect(refused(await outcome(token.slice(n + 1)))).toBe(true)
    }
  })

  it(`refuses any character deleted (${VERIFIER_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 10_000 }), async (position) => {
        const i = position % token.length
        expect(refused(await outcome(token.slice(0, i) + token.slice(i + 1)))).toBe(true)
      }),
      { numRuns: VERIFIER_RUNS }
    )
  })

  it(`refuses any extension, appended or inserted anywhere (${VERIFIER_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 64, unit: 'binary' }),
        fc.nat({ max: 10_000 }),
        fc.boolean(),
        async (extra, position, append) => {
          const i = append ? token.length : position % (token.length + 1)
          expect(refused(await outcome(token.slice(0, i) + extra + token.slice(i)))).toBe(true)
        }
      ),
      { numRuns: VERIFIER_RUNS }
    )
  })
})

describe('random input is a typed refusal (verifier)', () => {
  it(`refuses random strings of any code units with a JwtError (${VERIFIER_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 5000, unit: 'binary' }), async (input) => {
        expect(refused(await outcome(input))).toBe(true)
      }),
      { numRuns: VERIFIER_RUNS }
    )
  })

  it(`refuses random bytes read as text with a JwtError (${VERIFIER_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        expect(refused(await outcome(String.fromCharCode(...bytes)))).toBe(true)
      }),
      { numRuns: VERIFIER_RUNS }
    )
  })

  it(`refuses random token-shaped strings with a JwtError (${VERIFIER_RUNS} runs)`, async () => {
    const segment = fc.string({ unit: fc.constantFrom(...'eyJAQw_-=+/ .'), maxLength: 60 })
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 5 }), async (parts) => {
        expect(refused(await outcome(parts.join('.')))).toBe(true)
      }),
      { numRuns: VERIFIER_RUNS }
    )
  })
})

/** Header-legal text: any ASCII byte but NUL, CR and LF, which no HTTP header can carry. */
const headerText = (maxLength: number) =>
  fc.string({
    unit: fc
      .integer({ min: 1, max: 0x7f })
      .filter((c) => c !== 10 && c !== 13)
      .map((c) => String.fromCharCode(c)),
    maxLength,
  })

const ROUTES = [
  { method: 'GET', path: '/v1/session' },
  { method: 'DELETE', path: '/v1/session' },
  { method: 'GET', path: '/v1/session/data' },
  { method: 'POST', path: '/v1/sessions' },
] as const

describe('random input over HTTP never yields a 5xx', () => {
  let h: Harness

  beforeAll(() => {
    h = harness()
  })

  async function answer(route: (typeof ROUTES)[number], headers: HeadersInit) {
    const response = await h.fetch(route.path, { method: route.method, ip: freshIp(), headers })
    const body = await response.json<{ code?: string }>()
    return { status: response.status, code: body.code ?? 'ok' }
  }

  it(`random bearer tokens: 401 token_invalid, or a fresh session on start (${HTTP_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), headerText(600), async (route, text) => {
        const result = await answer(route, bearer(text))
        expect(result.status).toBeLessThan(500)
        const oneToken = /^\S+$/.test(text.replace(/[ \t]+$/, ''))
        if (route.method === 'POST' && oneToken) {
          expect(result).toEqual({ status: 201, code: 'ok' })
        } else {
          expect(result).toEqual({ status: 401, code: 'token_invalid' })
        }
      }),
      { numRuns: HTTP_RUNS }
    )
  })

  it(`random Authorization headers: 401 token_invalid (${HTTP_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(headerText(600), async (text) => {
        const result = await answer(ROUTES[0], { Authorization: text })
        expect(result).toEqual({ status: 401, code: 'token_invalid' })
      }),
      { numRuns: HTTP_RUNS }
    )
  })

  it(`random Cookie headers and session cookie values: a 401, never a 5xx (${HTTP_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(headerText(600), fc.boolean(), async (text, named) => {
        const cookie = named ? `__Host-session=${text}` : text
        const result = await answer(ROUTES[0], { Cookie: cookie })
        expect(result.status).toBe(401)
        expect(['token_invalid', 'session_not_found']).toContain(result.code)
      }),
      { numRuns: HTTP_RUNS }
    )
  })

  it(`single-character changes of a live session token over HTTP: 401 token_invalid (${HTTP_RUNS} runs)`, async () => {
    const ip = freshIp()
    const { token: live } = await startSession(h, ip)
    h.now = T0 + 5
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 10_000 }),
        fc.integer({ min: 0x21, max: 0x7e }),
        async (position, code) => {
          const i = position % live.length
          fc.pre(live.charCodeAt(i) !== code)
          const changed = live.slice(0, i) + String.fromCharCode(code) + live.slice(i + 1)
          const response = await h.fetch('/v1/session', { ip, headers: bearer(changed) })
          expect(response.status).toBe(401)
          expect(await response.json()).toMatchObject({ code: 'token_invalid' })
        }
      ),
      { numRuns: HTTP_RUNS }
    )
    const unchanged = await h.fetch('/v1/session', { ip, headers: bearer(live) })
    expect(unchanged.status).toBe(200)
  })

  it('a non-ASCII Authorization value (workerd sends it as UTF-8): 401 token_invalid', async () => {
    const result = await answer(ROUTES[0], { Authorization: 'Bearer eyJ\u00e9.\u00ff.\u0080' })
    expect(result).toEqual({ status: 401, code: 'token_invalid' })
  })
})
