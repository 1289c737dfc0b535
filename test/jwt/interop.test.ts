import { env } from 'cloudflare:workers'
import { errors, jwtVerify, SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeText } from '../../src/jwt/base64url'
import { MAX_TOKEN_LENGTH } from '../../src/jwt/jws'
import { loadKeyRing, type KeyRing } from '../../src/jwt/keys'
import { issueToken, verifyToken, type TokenRules } from '../../src/sessions/token'
import { bearer, claimsOf, freshIp, harness, startSession, T0 } from '../helpers/harness'
import { craft, headerOf, signEncoded, withTrailingBits } from './craft'

const SECRET = 'interop-secret-0123456789abcdef012345'
const KEY_BYTES = new TextEncoder().encode(SECRET)
const NOW = 1_800_000_000
const IDLE = 1800
const RULES: TokenRules = {
  issuer: 'edge-sessions',
  audience: 'edge-sessions',
  idleTimeoutSeconds: IDLE,
  clockSkewSeconds: 0,
}
const SESSION = {
  sub: 'c2Vzc2lvbi1pZC0xMjM0NQ',
  ckt: 'tag-0123456789ab',
  iat: NOW,
  exp: NOW + IDLE,
  created_at: NOW,
  max_exp: NOW + 43_200,
}

let ring: KeyRing

beforeAll(async () => {
  ring = await loadKeyRing(SECRET)
})

function joseOptions(now: number) {
  return {
    issuer: RULES.issuer,
    audience: RULES.audience,
    algorithms: ['HS256'],
    typ: 'JWT',
    currentDate: new Date(now * 1000),
  }
}

/** Signs our claim set with jose, as another service holding the secret would. */
function joseSign(claims: Record<string, unknown>, kid: string | undefined, key = KEY_BYTES) {
  const header =
    kid === undefined ? { alg: 'HS256', typ: 'JWT' } : { alg: 'HS256', typ: 'JWT', kid }
  return new SignJWT(claims).setProtectedHeader(header).sign(key)
}

describe('tokens we issue verify in jose', () => {
  it('with the same secret bytes, issuer and audience: same claims, our kid', async () => {
    const token = await issueToken(ring, RULES, SESSION)
    const { payload, protectedHeader } = await jwtVerify(token, KEY_BYTES, joseOptions(NOW))
    expect(payload).toEqual(claimsOf(token))
    expect(payload).toMatchObject(SESSION)
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT', kid: ring.current.kid })
  })

  it('with the same exp boundary: valid at exp - 1, expired at exp', async () => {
    const token = await issueToken(ring, RULES, SESSION)
    await expect(jwtVerify(token, KEY_BYTES, joseOptions(SESSION.exp - 1))).resolves.toBeDefined()
    await expect(jwtVerify(token, KEY_BYTES, joseOptions(SESSION.exp))).rejects.toBeInstanceOf(
      errors.JWTExpired
    )
  })

  it('and fail in jose under another secret', async () => {
    const token = await issueToken(ring, RULES, SESSION)
    const other = new TextEncoder().encode('another-secret-0123456789abcdef012345')
    await expect(jwtVerify(token, other, joseOptions(NOW))).rejects.toBeInstanceOf(
      errors.JWSSignatureVerificationFailed
    )
  })

  it('including the token the running service hands out over HTTP', async () => {
    const h = harness()
    const { token, session } = await startSession(h, freshIp())
    const secret = new TextEncoder().encode(env.SESSION_SECRET)
    const { payload } = await jwtVerify(token, secret, joseOptions(T0))
    expect(payload.sub).toBe(session.id)
    expect(payload.exp).toBe(T0 + IDLE)
  })
})

describe('tokens jose signs verify in ours', () => {
  it('our claim set, our kid, typ JWT', async () => {
    const token = await joseSign(
      { ...SESSION, iss: 'edge-sessions', aud: 'edge-sessions', jti: 'j1' },
      ring.current.kid
    )
    const { claims, key } = await verifyToken(token, ring, RULES, NOW)
    expect(claims).toMatchObject(SESSION)
    expect(key).toBe(ring.current)
  })

  it('with jose setting the registered claims through its own builder', async () => {
    const token = await new SignJWT({ ckt: SESSION.ckt, created_at: NOW, max_exp: NOW + 43_200 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: ring.current.kid })
      .setIssuer('edge-sessions')
      .setAudience(['other-service', 'edge-sessions'])
      .setSubject(SESSION.sub)
      .setJti('j2')
      .setIssuedAt(NOW)
      .setExpirationTime(NOW + IDLE)
      .sign(KEY_BYTES)
    const { claims } = await verifyToken(token, ring, RULES, NOW + IDLE - 1)
    expect(claims.aud).toEqual(['other-service', 'edge-sessions'])
    await expect(verifyToken(token, ring, RULES, NOW + IDLE)).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    })
  })

  it('without kid, checked against the current key', async () => {
    const claims = { ...SESSION, iss: 'edge-sessions', aud: 'edge-sessions', jti: 'j3' }
    const token = await joseSign(claims, undefined)
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect((await verifyToken(token, ring, RULES, NOW)).key).toBe(ring.current)
  })

  it('through HTTP: the service honours a jose-signed token of a real session', async () => {
    const h = harness()
    const ip = freshIp()
    const started = await startSession(h, ip)
    const ours = claimsOf(started.token)
    const kid = headerOf(started.token).kid as string
    const secret = new TextEncoder().encode(env.SESSION_SECRET)
    const token = await joseSign({ ...ours, jti: 'jose-minted' }, kid, secret)
    expect(token).not.toBe(started.token)
    h.now = T0 + 30
    const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
    expect(response.status).toBe(200)
    const body = await response.json<{ session: { id: string }; token: string }>()
    expect(body.session.id).toBe(started.session.id)
    expect(headerOf(body.token).kid).toBe(kid)
  })
})

describe('stricter than jose: jose accepts these, we refuse them', () => {
  const claims = { ...SESSION, iss: 'edge-sessions', aud: 'edge-sessions', jti: 'j' }
  const header = () => ({ alg: 'HS256', typ: 'JWT', kid: ring.current.kid })

  async function valid(): Promise<string> {
    return joseSign(claims, ring.current.kid)
  }

  /** A payload whose encoding ends in a partial group, so it has unused bits to set. */
  function partialPayload(): string {
    for (let i = 0; i < 3; i++) {
      const p = encodeText(JSON.stringify({ ...claims, x: 'a'.repeat(i) }))
      if (p.length % 4 !== 0) {
        return p
      }
    }
    throw new Error('three consecutive lengths cannot all be multiples of three bytes')
  }

  const cases: [string, string, () => Promise<string>][] = [
    [
      'a signature with set trailing bits',
      'ERR_JWS_INVALID',
      async () => withTrailingBits(await valid(), 1),
    ],
    ['a padded signature', 'ERR_JWS_INVALID', async () => `${await valid()}=`],
    [
      'a space inside the signature',
      'ERR_JWS_INVALID',
      async () => {
        const token = await valid()
        return `${token.slice(0, -10)} ${token.slice(-10)}`
      },
    ],
    [
      'a payload of non-canonical base64url',
      'ERR_JWS_INVALID',
      () =>
        signEncoded(
          SECRET,
          encodeText(JSON.stringify(header())),
          withTrailingBits(partialPayload(), 1)
        ),
    ],
    [
      'a duplicate claim (jose reads the last)',
      'ERR_JWS_INVALID',
      () => craft(SECRET, header(), JSON.stringify(claims).replace('{', '{"sub":"x",')),
    ],
    [
      'a duplicate header member',
      'ERR_JWS_INVALID',
      () =>
        craft(
          SECRET,
          `{"alg":"HS256","typ":"JWT","typ":"JWT","kid":"${ring.current.kid}"}`,
          claims
        ),
    ],
    [
      'typ "jwt" in lower case',
      'ERR_JWS_INVALID',
      () => craft(SECRET, { ...header(), typ: 'jwt' }, claims),
    ],
    [
      'typ "application/jwt"',
      'ERR_JWS_INVALID',
      () => craft(SECRET, { ...header(), typ: 'application/jwt' }, claims),
    ],
    [
      `a token longer than ${MAX_TOKEN_LENGTH} characters`,
      'ERR_JWS_INVALID',
      () => craft(SECRET, header(), { ...claims, pad: 'x'.repeat(MAX_TOKEN_LENGTH) }),
    ],
    [
      'exp - iat longer than the idle timeout',
      'ERR_JWT_CLAIM_INVALID',
      () => craft(SECRET, header(), { ...claims, exp: NOW + IDLE + 1 }),
    ],
    [
      'exp 1e400, which jose reads as never expiring',
      'ERR_JWT_CLAIM_INVALID',
      () =>
        craft(
          SECRET,
          header(),
          JSON.stringify(claims).replace(`"exp":${claims.exp}`, '"exp":1e400')
        ),
    ],
    [
      'iat in the future',
      'ERR_JWT_NOT_YET_VALID',
      () => craft(SECRET, header(), { ...claims, iat: NOW + 60, exp: NOW + 120 }),
    ],
    [
      'an aud array holding ours and a number',
      'ERR_JWT_CLAIM_INVALID',
      () => craft(SECRET, header(), { ...claims, aud: ['edge-sessions', 1] }),
    ],
    [
      'crit naming b64, with b64 true',
      'ERR_JWS_INVALID',
      () => craft(SECRET, { ...header(), crit: ['b64'], b64: true }, claims),
    ],
  ]

  it.each(cases)('%s: ours answers %s', async (_, code, make) => {
    const token = await make()
    await expect(jwtVerify(token, KEY_BYTES, joseOptions(NOW))).resolves.toBeDefined()
    await expect(verifyToken(token, ring, RULES, NOW)).rejects.toMatchObject({ code })
  })
})
