/**
 * Hostile tokens against the running app: each case is validly signed with the service's secret
 * where a signature matters, built on a real session's claims, and wrong in exactly one way. The
 * answer must be the named problem code, never a 5xx, and no log line may carry the token.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { encodeText } from '../../src/jwt/base64url'
import type { ProblemCode } from '../../src/errors'
import { statusOf } from '../../src/http/problem'
import {
  bearer,
  claimsOf,
  freshIp,
  harness,
  startSession,
  T0,
  type Harness,
} from '../helpers/harness'
import {
  craft,
  headerOf,
  part,
  signEncoded,
  toStandardBase64,
  withTrailingBits,
  type Hash,
  type Json,
} from './craft'

const SECRET = env.SESSION_SECRET!
const IDLE = 1800
/** The clock of every case: ten seconds into a session started at T0. */
const NOW = T0 + 10

type Ctx = {
  h: Harness
  token: string
  claims: Record<string, unknown>
  header: Record<string, unknown>
}
type Build = (ctx: Ctx) => Promise<HeadersInit> | HeadersInit
/** The answer's problem code and, in brackets, the reason the service logs for it. */
type Expected = `${ProblemCode} (${string})`
type Case = [name: string, expected: Expected, build: Build]

const INVALID: Expected = 'token_invalid (ERR_JWS_INVALID)'
const ALG_NOT_ALLOWED: Expected = 'token_invalid (ERR_JWS_ALG_NOT_ALLOWED)'
const UNKNOWN_KID: Expected = 'token_invalid (ERR_JWS_UNKNOWN_KID)'
const BAD_SIGNATURE: Expected = 'token_invalid (ERR_JWS_SIGNATURE_INVALID)'
const BAD_CLAIM: Expected = 'token_invalid (ERR_JWT_CLAIM_INVALID)'
const NOT_YET: Expected = 'token_invalid (ERR_JWT_NOT_YET_VALID)'
const NOT_BEARER: Expected = 'token_invalid (Authorization is not "Bearer <token>")'
const EXPIRED: Expected = 'session_expired (session has ended or is unknown)'

afterEach(() => {
  vi.restoreAllMocks()
})

/** Signs the session's header and claims with overrides; `undefined` removes a member. */
function signed(ctx: Ctx, header: Record<string, unknown>, claims: Record<string, unknown>) {
  return craft(SECRET, { ...ctx.header, ...header }, { ...ctx.claims, ...claims })
}

/** The session's claims as JSON text with one member's value replaced by raw JSON. */
function rawClaim(ctx: Ctx, name: string, json: string): string {
  return JSON.stringify({ ...ctx.claims, [name]: '__raw__' }).replace('"__raw__"', json)
}

function asBearer(make: (ctx: Ctx) => Promise<string> | string): Build {
  return async (ctx) => bearer(await make(ctx))
}

function asCookie(make: (ctx: Ctx) => Promise<string> | string): Build {
  return async (ctx) => ({ Cookie: `__Host-session=${await make(ctx)}` })
}

function encodedParts(header: Json, payload: Json): [string, string] {
  const text = (v: Json) => (typeof v === 'string' ? v : JSON.stringify(v))
  return [encodeText(text(header)), encodeText(text(payload))]
}

/** Filler tries before a search for an encoding with a wanted character gives up. */
const SEARCH_LIMIT = 64

/** A payload with filler claims chosen so its encoding holds both `-` and `_` and needs padding. */
function payloadWithUrlSafeCharacters(ctx: Ctx): string {
  for (let i = 0; i < SEARCH_LIMIT; i++) {
    const x = 'a'.repeat(i % 3) + '??~>>~'
    const p = encodeText(JSON.stringify({ ...ctx.claims, x, y: 'b'.repeat(i) }))
    if (p.includes('-') && p.includes('_') && p.length % 4 !== 0) {
      return p
    }
  }
  throw new Error('no payload encoding with "-" and "_" found')
}

/** A token signed with the session's claims whose MAC, in standard base64, holds `+` or `/`. */
async function tokenWithUrlSafeSignature(ctx: Ctx): Promise<string> {
  for (let i = 0; i < SEARCH_LIMIT; i++) {
    const token = await signed(ctx, {}, { x: i })
    if (/[-_]/.test(token.split('.')[2]!)) {
      return token
    }
  }
  throw new Error('no signature with "-" or "_" found')
}

async function run(
  build: Build,
  options: { settings?: Partial<Env>; at?: number; path?: string } = {}
) {
  const h = harness(options.settings)
  const ip = freshIp()
  const started = await startSession(h, ip)
  const ctx: Ctx = {
    h,
    token: started.token,
    claims: claimsOf(started.token),
    header: headerOf(started.token),
  }
  h.now = options.at ?? NOW
  const headers = await build(ctx)
  const log = vi.spyOn(console, 'log')
  const response = await h.fetch(options.path ?? '/v1/session', { ip, headers })
  const lines = log.mock.calls.map((call) => call.join(' '))
  log.mockRestore()
  return { response, lines, headers: new Headers(headers), ctx }
}

/** Asserts the problem answer, the logged reason, and that no log line carries the token. */
async function expectProblem(result: Awaited<ReturnType<typeof run>>, expected: Expected) {
  const { response, lines, headers } = result
  const [, code, reason] = /^(\w+) \((.*)\)$/.exec(expected)!
  expect(response.status).toBeLessThan(500)
  expect(response.status).toBe(statusOf(code as ProblemCode))
  expect(response.headers.get('Content-Type')).toBe('application/problem+json')
  expect(response.headers.get('WWW-Authenticate')).toContain('error="invalid_token"')
  expect(response.headers.get('Set-Cookie')).toBeNull()
  expect(response.headers.get('Session-Token')).toBeNull()
  expect(await response.json()).toMatchObject({ code, status: statusOf(code as ProblemCode) })
  const rejected = lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.event === 'request_rejected')
  expect(rejected).toEqual([expect.objectContaining({ code, detail: reason })])
  const presented = headers.get('Authorization') ?? headers.get('Cookie') ?? ''
  const signature = presented.split('.').at(-1) ?? ''
  for (const line of lines) {
    expect(line).not.toContain(SECRET)
    if (signature.length >= 16) {
      expect(line).not.toContain(signature)
    }
  }
}

describe('controls: crafted the same way, these are accepted', () => {
  it.each<[string, Build]>([
    ['the session token as issued', (ctx) => bearer(ctx.token)],
    ['the session claims re-signed', asBearer((ctx) => signed(ctx, {}, {}))],
    ['an extra private claim', asBearer((ctx) => signed(ctx, {}, { x: 'y' }))],
    [
      'an aud array holding ours',
      asBearer((ctx) => signed(ctx, {}, { aud: ['x', 'edge-sessions'] })),
    ],
    ['nbf exactly now', asBearer((ctx) => signed(ctx, {}, { nbf: NOW }))],
    [
      'no kid (checked against the current key)',
      asBearer((ctx) => signed(ctx, { kid: undefined }, {})),
    ],
    ['the session token in the cookie', (ctx) => ({ Cookie: `__Host-session=${ctx.token}` })],
    ['the scheme in lower case', (ctx) => ({ Authorization: `bearer ${ctx.token}` })],
    ['the scheme in upper case', (ctx) => ({ Authorization: `BEARER ${ctx.token}` })],
  ])('%s', async (_, build) => {
    const { response } = await run(build)
    expect(response.status).toBe(200)
  })

  it('accepts nbf and iat up to CLOCK_SKEW_SECONDS ahead', async () => {
    const build = asBearer((ctx) => signed(ctx, {}, { nbf: NOW + 60, iat: NOW + 60 }))
    const { response } = await run(build, { settings: { CLOCK_SKEW_SECONDS: '60' } })
    expect(response.status).toBe(200)
  })
})

const ALG: Case[] = [
  ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg): Case[] => [
    [
      `alg "${alg}" without a signature`,
      INVALID,
      asBearer((ctx) => {
        const [h, p] = encodedParts({ ...ctx.header, alg }, ctx.claims)
        return `${h}.${p}.`
      }),
    ],
    [`alg "${alg}" with a signature`, ALG_NOT_ALLOWED, asBearer((ctx) => signed(ctx, { alg }, {}))],
  ]),
  ['alg "hs256"', ALG_NOT_ALLOWED, asBearer((ctx) => signed(ctx, { alg: 'hs256' }, {}))],
  ...(['HS384', 'HS512'] as const).map((alg): Case => [
    `alg "${alg}" with a real ${alg} MAC under the secret`,
    ALG_NOT_ALLOWED,
    asBearer((ctx) =>
      craft(SECRET, { ...ctx.header, alg }, ctx.claims, `SHA-${alg.slice(2)}` as Hash)
    ),
  ]),
  ['alg "RS256"', ALG_NOT_ALLOWED, asBearer((ctx) => signed(ctx, { alg: 'RS256' }, {}))],
  ['alg missing', ALG_NOT_ALLOWED, asBearer((ctx) => signed(ctx, { alg: undefined }, {}))],
  ['alg a number', ALG_NOT_ALLOWED, asBearer((ctx) => signed(ctx, { alg: 256 }, {}))],
  ['alg null', ALG_NOT_ALLOWED, asBearer((ctx) => signed(ctx, { alg: null }, {}))],
  ['alg an array', ALG_NOT_ALLOWED, asBearer((ctx) => signed(ctx, { alg: ['HS256'] }, {}))],
]

const SHAPE: Case[] = [
  ...['array', 'null', 'number', 'string'].flatMap((kind): Case[] => {
    const json = { array: '["HS256"]', null: 'null', number: '256', string: '"HS256"' }[kind]!
    return [
      [`header a JSON ${kind}`, INVALID, asBearer((ctx) => craft(SECRET, json, ctx.claims))],
      [`payload a JSON ${kind}`, INVALID, asBearer((ctx) => craft(SECRET, ctx.header, json))],
    ]
  }),
  [
    'header of invalid UTF-8',
    INVALID,
    asBearer((ctx) => {
      const head = [...new TextEncoder().encode(JSON.stringify(ctx.header).slice(0, -1)), 0x2c]
      const raw = [...head, ...new TextEncoder().encode('"x":"'), 0xc3, 0x28, 0x22, 0x7d]
      return signEncoded(SECRET, part(raw), encodedParts(ctx.header, ctx.claims)[1])
    }),
  ],
  [
    'payload of invalid UTF-8',
    INVALID,
    asBearer((ctx) => {
      const body = [...new TextEncoder().encode(JSON.stringify(ctx.claims).slice(0, -1)), 0x2c]
      const raw = [...body, ...new TextEncoder().encode('"x":"'), 0xed, 0xa0, 0x80, 0x22, 0x7d]
      return signEncoded(SECRET, encodedParts(ctx.header, ctx.claims)[0], part(raw))
    }),
  ],
  [
    'duplicate header member alg',
    INVALID,
    asBearer((ctx) =>
      craft(SECRET, JSON.stringify(ctx.header).replace('{', '{"alg":"none",'), ctx.claims)
    ),
  ],
  [
    'duplicate claim sub',
    INVALID,
    asBearer((ctx) =>
      craft(SECRET, ctx.header, JSON.stringify(ctx.claims).replace('{', '{"sub":"someone-else",'))
    ),
  ],
  [
    'duplicate claim exp',
    INVALID,
    asBearer((ctx) =>
      craft(SECRET, ctx.header, JSON.stringify(ctx.claims).replace('}', `,"exp":${T0 + 99_999}}`))
    ),
  ],
  ['a crit member', INVALID, asBearer((ctx) => signed(ctx, { crit: ['exp'] }, {}))],
  ['a b64 member', INVALID, asBearer((ctx) => signed(ctx, { b64: false }, {}))],
  ['typ missing', INVALID, asBearer((ctx) => signed(ctx, { typ: undefined }, {}))],
  ['typ "jwt"', INVALID, asBearer((ctx) => signed(ctx, { typ: 'jwt' }, {}))],
  ['typ "JWS"', INVALID, asBearer((ctx) => signed(ctx, { typ: 'JWS' }, {}))],
  ['typ "at+jwt"', INVALID, asBearer((ctx) => signed(ctx, { typ: 'at+jwt' }, {}))],
  ['kid unknown', UNKNOWN_KID, asBearer((ctx) => signed(ctx, { kid: 'AAAAAAAAAAA' }, {}))],
  ['kid a number', INVALID, asBearer((ctx) => signed(ctx, { kid: 7 }, {}))],
]

const TIME_SHAPES: [string, string][] = [
  ['a string', `"${T0 + 100}"`],
  ['null', 'null'],
  ['a boolean', 'true'],
  ['an array', `[${T0 + 100}]`],
  ['1e400', '1e400'],
  ['negative', '-1'],
]

const CLAIMS: Case[] = [
  ...['exp', 'nbf', 'iat'].flatMap((name) =>
    TIME_SHAPES.map(([kind, json]): Case => [
      `${name} as ${kind}`,
      BAD_CLAIM,
      asBearer((ctx) => craft(SECRET, ctx.header, rawClaim(ctx, name, json))),
    ])
  ),
  ['nbf one second in the future', NOT_YET, asBearer((ctx) => signed(ctx, {}, { nbf: NOW + 1 }))],
  ['iat one second in the future', NOT_YET, asBearer((ctx) => signed(ctx, {}, { iat: NOW + 1 }))],
  [
    'exp - iat one second longer than the idle timeout',
    BAD_CLAIM,
    asBearer((ctx) => signed(ctx, {}, { iat: NOW, exp: NOW + IDLE + 1 })),
  ],
  [
    "exp after the session's absolute deadline",
    BAD_CLAIM,
    asBearer((ctx) => signed(ctx, {}, { max_exp: NOW + 5 })),
  ],
  ...['sub', 'jti', 'exp', 'iat', 'iss', 'aud', 'ckt', 'created_at', 'max_exp'].map(
    (name): Case => [
      `${name} missing`,
      BAD_CLAIM,
      asBearer((ctx) => signed(ctx, {}, { [name]: undefined })),
    ]
  ),
  ['sub empty', BAD_CLAIM, asBearer((ctx) => signed(ctx, {}, { sub: '' }))],
  ['sub a number', BAD_CLAIM, asBearer((ctx) => signed(ctx, {}, { sub: 1 }))],
  ['iss wrong', BAD_CLAIM, asBearer((ctx) => signed(ctx, {}, { iss: 'someone-else' }))],
  ['aud wrong', BAD_CLAIM, asBearer((ctx) => signed(ctx, {}, { aud: 'someone-else' }))],
  [
    'aud an array without ours',
    BAD_CLAIM,
    asBearer((ctx) => signed(ctx, {}, { aud: ['someone-else', 'edge-sessions '] })),
  ],
  ['aud an empty array', BAD_CLAIM, asBearer((ctx) => signed(ctx, {}, { aud: [] }))],
]

const ENCODING: Case[] = [
  ['"=" padding on the signature', INVALID, asBearer((ctx) => `${ctx.token}=`)],
  [
    '"=" padding on the payload, signed over',
    INVALID,
    asBearer((ctx) => {
      const p = payloadWithUrlSafeCharacters(ctx)
      const padded = p + '='.repeat(4 - (p.length % 4))
      return signEncoded(SECRET, encodedParts(ctx.header, '{}')[0], padded)
    }),
  ],
  [
    '"+" and "/" in the payload, signed over',
    INVALID,
    asBearer((ctx) => {
      const p = toStandardBase64(payloadWithUrlSafeCharacters(ctx)).replace(/=+$/, '')
      return signEncoded(SECRET, encodedParts(ctx.header, '{}')[0], p)
    }),
  ],
  [
    '"+" or "/" in the signature',
    INVALID,
    asBearer(async (ctx) => {
      const [h, p, s] = (await tokenWithUrlSafeSignature(ctx)).split('.')
      return `${h}.${p}.${toStandardBase64(s!).replace(/=+$/, '')}`
    }),
  ],
  ...(
    [
      ['a space', '%20'],
      ['a tab', '%09'],
      ['a line feed', '%0A'],
      ['a CR LF', '%0D%0A'],
    ] as const
  ).flatMap(([what, escape]): Case[] => [
    [
      `${what} in the header`,
      INVALID,
      asCookie(async (ctx) => {
        const [h, p] = encodedParts(ctx.header, ctx.claims)
        const token = await signEncoded(
          SECRET,
          `${h.slice(0, 5)}${decodeURIComponent(escape)}${h.slice(5)}`,
          p
        )
        return token.replace(decodeURIComponent(escape), escape)
      }),
    ],
    [
      `${what} in the payload, signed over`,
      INVALID,
      asCookie(async (ctx) => {
        const [h, p] = encodedParts(ctx.header, ctx.claims)
        const token = await signEncoded(
          SECRET,
          h,
          `${p.slice(0, 5)}${decodeURIComponent(escape)}${p.slice(5)}`
        )
        return token.replace(decodeURIComponent(escape), escape)
      }),
    ],
    [
      `${what} in the signature`,
      INVALID,
      asCookie((ctx) => `${ctx.token.slice(0, -5)}${escape}${ctx.token.slice(-5)}`),
    ],
  ]),
  ...[1, 2, 3].map((bits): Case => [
    `last signature character with unused bits ${bits} set (same MAC bytes)`,
    INVALID,
    asBearer((ctx) => withTrailingBits(ctx.token, bits)),
  ]),
  [
    'an empty signature',
    INVALID,
    asBearer((ctx) => ctx.token.slice(0, ctx.token.lastIndexOf('.') + 1)),
  ],
  ['two parts', INVALID, asBearer((ctx) => ctx.token.slice(0, ctx.token.lastIndexOf('.')))],
  ['four parts', INVALID, asBearer((ctx) => `${ctx.token}.${ctx.token.split('.')[2]}`)],
]

const SIZE: Case[] = [
  ['a 1 MB bearer token', INVALID, () => bearer(`${'e'.repeat(1 << 20)}`)],
  [
    'a 1 MB bearer token made of a valid token repeated',
    INVALID,
    asBearer((ctx) => ctx.token.repeat(Math.ceil((1 << 20) / ctx.token.length))),
  ],
  ['a bearer token of 100,000 dots', INVALID, () => bearer('.'.repeat(100_000))],
  ['a 1 MB session cookie', INVALID, () => ({ Cookie: `__Host-session=${'e'.repeat(1 << 20)}` })],
  [
    'a session cookie of 100,000 dots',
    INVALID,
    () => ({ Cookie: `__Host-session=${'.'.repeat(100_000)}` }),
  ],
]

const TRANSPORT: Case[] = [
  ['scheme Basic', NOT_BEARER, (ctx) => ({ Authorization: `Basic ${ctx.token}` })],
  ['scheme Token', NOT_BEARER, (ctx) => ({ Authorization: `Token ${ctx.token}` })],
  ['scheme Bearerx', NOT_BEARER, (ctx) => ({ Authorization: `Bearerx ${ctx.token}` })],
  ['scheme "Bearer:"', NOT_BEARER, (ctx) => ({ Authorization: `Bearer: ${ctx.token}` })],
  ['no scheme', NOT_BEARER, (ctx) => ({ Authorization: ctx.token })],
  ['the scheme alone', NOT_BEARER, () => ({ Authorization: 'Bearer' })],
  ['an empty Authorization', NOT_BEARER, () => ({ Authorization: '' })],
  ['two spaces after the scheme', NOT_BEARER, (ctx) => ({ Authorization: `Bearer  ${ctx.token}` })],
  ['a tab after the scheme', NOT_BEARER, (ctx) => ({ Authorization: `Bearer\t${ctx.token}` })],
  ['two tokens', NOT_BEARER, (ctx) => ({ Authorization: `Bearer ${ctx.token} ${ctx.token}` })],
  [
    'two Authorization headers',
    NOT_BEARER,
    (ctx) => {
      const headers = new Headers()
      headers.append('Authorization', `Bearer ${ctx.token}`)
      headers.append('Authorization', `Bearer ${ctx.token}`)
      return headers
    },
  ],
  [
    'a broken Authorization beside a valid cookie (no fallback)',
    NOT_BEARER,
    (ctx) => ({ Authorization: `Basic ${ctx.token}`, Cookie: `__Host-session=${ctx.token}` }),
  ],
]

describe.each([
  ['alg', ALG],
  ['header and payload shape', SHAPE],
  ['claims', CLAIMS],
  ['encoding', ENCODING],
  ['size (refused by the length bound)', SIZE],
  ['transport', TRANSPORT],
])('hostile: %s', (_, cases) => {
  it.each(cases)('%s → %s', async (_, expected, build) => {
    await expectProblem(await run(build), expected)
  })
})

describe('hostile: time boundaries against D1', () => {
  it(`exp exactly now: the session's own token at its deadline → ${EXPIRED}`, async () => {
    const result = await run((ctx) => bearer(ctx.token), { at: T0 + IDLE })
    await expectProblem(result, EXPIRED)
  })

  it(`exp exactly now on a validly signed token of an unknown session → ${EXPIRED}`, async () => {
    const sub = 'AAAAAAAAAAAAAAAAAAAAAA'
    const build = asBearer((ctx) => signed(ctx, {}, { sub, iat: NOW - 100, exp: NOW }))
    await expectProblem(await run(build), EXPIRED)
  })

  it(`nbf beyond CLOCK_SKEW_SECONDS → ${NOT_YET}`, async () => {
    const build = asBearer((ctx) => signed(ctx, {}, { nbf: NOW + 61 }))
    const result = await run(build, { settings: { CLOCK_SKEW_SECONDS: '60' } })
    await expectProblem(result, NOT_YET)
  })

  it(`iat beyond CLOCK_SKEW_SECONDS → ${NOT_YET}`, async () => {
    const build = asBearer((ctx) => signed(ctx, {}, { iat: NOW + 61 }))
    const result = await run(build, { settings: { CLOCK_SKEW_SECONDS: '60' } })
    await expectProblem(result, NOT_YET)
  })

  it(`exp - iat longer than a shorter IDLE_TIMEOUT_SECONDS → ${BAD_CLAIM}`, async () => {
    const build = asBearer((ctx) => signed(ctx, {}, { iat: NOW, exp: NOW + 601 }))
    const result = await run(build, { settings: { IDLE_TIMEOUT_SECONDS: '600' } })
    await expectProblem(result, BAD_CLAIM)
  })

  it(`a token of another secret under our kid → ${BAD_SIGNATURE}`, async () => {
    const other = 'another-secret-0123456789abcdef0123456'
    const build = asBearer((ctx) => craft(other, ctx.header, ctx.claims))
    await expectProblem(await run(build), BAD_SIGNATURE)
  })
})
