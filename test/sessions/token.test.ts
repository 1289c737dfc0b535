import { beforeAll, describe, expect, it } from 'vitest'
import { JwtExpiredError } from '../../src/jwt/errors'
import { loadKeyRing, type KeyRing } from '../../src/jwt/keys'
import { issueToken, sessionClaims, verifyToken, type TokenRules } from '../../src/sessions/token'
import { craft, headerOf } from '../jwt/craft'
import { claimsOf } from '../helpers/harness'

const SECRET = 'token-unit-secret-0123456789abcdef01'
const OTHER = 'token-unit-other-secret-0123456789abcd'
const NOW = 1_800_000_000
const IDLE = 1800
const RULES: TokenRules = {
  issuer: 'iss-a',
  audience: 'aud-a',
  idleTimeoutSeconds: IDLE,
  clockSkewSeconds: 0,
}
const CLAIMS = {
  sub: 'session-1',
  ckt: 'tag-0123456789ab',
  iat: NOW,
  exp: NOW + IDLE,
  created_at: NOW - 60,
  max_exp: NOW + 43_200,
}

let ring: KeyRing

beforeAll(async () => {
  ring = await loadKeyRing(SECRET)
})

describe('issueToken', () => {
  it('signs exactly our claim set under the current kid', async () => {
    const token = await issueToken(ring, RULES, CLAIMS)
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'JWT', kid: ring.current.kid })
    const claims = claimsOf(token)
    expect(Object.keys(claims).sort()).toEqual(
      ['aud', 'ckt', 'created_at', 'exp', 'iat', 'iss', 'jti', 'max_exp', 'sub'].sort()
    )
    expect(claims).toMatchObject({ ...CLAIMS, iss: 'iss-a', aud: 'aud-a' })
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{16}$/)
  })

  it('gives every token its own jti', async () => {
    const jtis = new Set<unknown>()
    for (let i = 0; i < 50; i++) {
      jtis.add(claimsOf(await issueToken(ring, RULES, CLAIMS)).jti)
    }
    expect(jtis.size).toBe(50)
  })

  it('signs only the named claims: a wider object neither adds one nor replaces iss, aud, jti', async () => {
    const wider = { ...CLAIMS, iss: 'evil', aud: 'evil', jti: 'fixed', admin: true }
    const claims = claimsOf(await issueToken(ring, RULES, wider))
    expect(claims).toMatchObject({ iss: 'iss-a', aud: 'aud-a' })
    expect(claims.jti).not.toBe('fixed')
    expect(claims).not.toHaveProperty('admin')
  })

  it('accepts a lifetime of exactly one second and of exactly the idle timeout', async () => {
    for (const exp of [NOW + 1, NOW + IDLE]) {
      const token = await issueToken(ring, RULES, { ...CLAIMS, exp })
      expect(claimsOf(token).exp).toBe(exp)
    }
  })

  it.each([
    ['exp equal to iat', { exp: NOW }],
    ['exp before iat', { exp: NOW - 1 }],
    ['a fractional iat', { iat: NOW + 0.5 }],
    ['a fractional exp', { exp: NOW + 10.5 }],
    ['exp NaN', { exp: Number.NaN }],
    ['exp Infinity', { exp: Number.POSITIVE_INFINITY }],
    ['exp missing', { exp: undefined }],
    ['iat missing', { iat: undefined }],
    ['exp as a string', { exp: String(NOW + 10) }],
    ['a negative iat', { iat: -10, exp: 10 }],
    ['exp beyond a safe integer', { iat: 2 ** 53, exp: 2 ** 53 + 1 }],
    ['a lifetime one second over the idle timeout', { exp: NOW + IDLE + 1 }],
    ['exp after the absolute deadline', { exp: NOW + 100, max_exp: NOW + 99 }],
    ['max_exp missing', { max_exp: undefined }],
  ])('fails closed with a RangeError on %s', async (_, bad) => {
    const claims = { ...CLAIMS, ...bad } as unknown as typeof CLAIMS
    await expect(issueToken(ring, RULES, claims)).rejects.toBeInstanceOf(RangeError)
  })

  it('fails closed when the idle timeout itself is not positive', async () => {
    const rules = { ...RULES, idleTimeoutSeconds: 0 }
    await expect(issueToken(ring, rules, CLAIMS)).rejects.toBeInstanceOf(RangeError)
  })
})

describe('verifyToken', () => {
  it('returns the claims and the ring key of a token we issued', async () => {
    const token = await issueToken(ring, RULES, CLAIMS)
    const { claims, key } = await verifyToken(token, ring, RULES, NOW + IDLE - 1)
    expect(claims).toMatchObject(CLAIMS)
    expect(key).toBe(ring.current)
  })

  it('throws JwtExpiredError with the claims at exp', async () => {
    const token = await issueToken(ring, RULES, CLAIMS)
    const error = await verifyToken(token, ring, RULES, NOW + IDLE).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JwtExpiredError)
    expect((error as JwtExpiredError).claims).toMatchObject(CLAIMS)
  })

  it('refuses a token of another secret as an unknown kid', async () => {
    const token = await issueToken(await loadKeyRing(OTHER), RULES, CLAIMS)
    await expect(verifyToken(token, ring, RULES, NOW)).rejects.toMatchObject({
      code: 'ERR_JWS_UNKNOWN_KID',
    })
  })

  it('refuses another issuer or audience', async () => {
    const token = await issueToken(ring, RULES, CLAIMS)
    for (const rules of [
      { ...RULES, issuer: 'iss-b' },
      { ...RULES, audience: 'aud-b' },
    ]) {
      await expect(verifyToken(token, ring, rules, NOW)).rejects.toMatchObject({
        code: 'ERR_JWT_CLAIM_INVALID',
      })
    }
  })

  it.each(['ckt', 'created_at', 'max_exp'])('refuses a signed token without %s', async (name) => {
    const payload: Record<string, unknown> = { ...CLAIMS, iss: 'iss-a', aud: 'aud-a', jti: 'j' }
    delete payload[name]
    const token = await craft(SECRET, { alg: 'HS256', typ: 'JWT', kid: ring.current.kid }, payload)
    await expect(verifyToken(token, ring, RULES, NOW)).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_INVALID',
    })
  })
})

describe('sessionClaims', () => {
  const valid = { ...CLAIMS, iss: 'iss-a', aud: 'aud-a', jti: 'j' }

  it('accepts our claim set', () => {
    expect(sessionClaims(valid)).toBe(valid)
  })

  it.each([
    ['an empty ckt', { ckt: '' }],
    ['a numeric ckt', { ckt: 1 }],
    ['a fractional created_at', { created_at: NOW + 0.5 }],
    ['a negative created_at', { created_at: -1 }],
    ['max_exp as a string', { max_exp: String(NOW + 43_200) }],
    ['max_exp null', { max_exp: null }],
    ['exp after max_exp', { max_exp: NOW + IDLE - 1 }],
  ])('refuses %s with ERR_JWT_CLAIM_INVALID', (_, bad) => {
    expect(() => sessionClaims({ ...valid, ...bad })).toThrow(
      expect.objectContaining({ code: 'ERR_JWT_CLAIM_INVALID' })
    )
  })
})
