import { beforeAll, describe, expect, it } from 'vitest'
import { JwtExpiredError } from '../../src/jwt/errors'
import type { KeyLookup } from '../../src/jwt/jws'
import { verifyJwt, type VerifyOptions } from '../../src/jwt/jwt'
import { importRingKey, type RingKey } from '../../src/jwt/keys'
import { craft } from './craft'

const SECRET = 'jwt-unit-secret-0123456789abcdef0123'
const NOW = 1_800_000_000
const LIFETIME = 1800

let ring: RingKey
let lookup: KeyLookup

beforeAll(async () => {
  ring = await importRingKey(SECRET)
  lookup = (kid) => (kid === ring.kid ? ring : undefined)
})

const OPTIONS: VerifyOptions = {
  now: NOW,
  issuer: 'iss-a',
  audience: 'aud-a',
  required: ['iss', 'aud', 'sub', 'jti', 'iat', 'exp'],
  maxLifetimeSeconds: LIFETIME,
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: 'iss-a',
    aud: 'aud-a',
    sub: 's1',
    jti: 'j1',
    iat: NOW - 10,
    exp: NOW - 10 + LIFETIME,
    ...overrides,
  }
}

function sign(payload: Record<string, unknown> | string): Promise<string> {
  return craft(SECRET, { alg: 'HS256', typ: 'JWT', kid: ring.kid }, payload)
}

/** JSON text of the claims with one member's value written as raw JSON (for 1e400). */
function rawClaim(name: string, json: string): string {
  return JSON.stringify(claims({ [name]: '__raw__' })).replace('"__raw__"', json)
}

async function outcome(
  payload: Record<string, unknown> | string,
  options: Partial<VerifyOptions> = {}
): Promise<string> {
  const token = await sign(payload)
  return verifyJwt(token, lookup, { ...OPTIONS, ...options }).then(
    () => 'accepted',
    (error: { code: string }) => error.code
  )
}

describe('RFC 7519 §4.1.4–4.1.6: NumericDate shapes', () => {
  const shapes: [string, string][] = [
    ['a string', '"1800000000"'],
    ['null', 'null'],
    ['a boolean', 'true'],
    ['an array', '[1800000000]'],
    ['an object', '{"v":1800000000}'],
    ['1e400 (infinite)', '1e400'],
    ['-1e400', '-1e400'],
    ['negative', '-1'],
  ]
  for (const name of ['exp', 'nbf', 'iat']) {
    it.each(shapes)(`refuses ${name} as %s`, async (_, json) => {
      expect(await outcome(rawClaim(name, json))).toBe('ERR_JWT_CLAIM_INVALID')
    })
  }

  it('accepts a fractional NumericDate, as RFC 7519 §2 allows', async () => {
    expect(await outcome(claims({ iat: NOW - 0.5, exp: NOW + 0.5 }))).toBe('accepted')
  })

  it('accepts 0 as a NumericDate', async () => {
    expect(await outcome(claims({ nbf: 0 }))).toBe('accepted')
  })
})

describe('RFC 7519 §4.1.4: exp', () => {
  it('accepts at exp - 1 and reports ERR_JWT_EXPIRED at exp and after', async () => {
    const payload = claims({ iat: NOW - 100, exp: NOW + 1 })
    expect(await outcome(payload)).toBe('accepted')
    expect(await outcome(payload, { now: NOW + 1 })).toBe('ERR_JWT_EXPIRED')
    expect(await outcome(payload, { now: NOW + 1000 })).toBe('ERR_JWT_EXPIRED')
  })

  it('extends exp by the clock skew and no further', async () => {
    const payload = claims({ iat: NOW - 100, exp: NOW })
    expect(await outcome(payload, { clockSkewSeconds: 30, now: NOW + 29 })).toBe('accepted')
    expect(await outcome(payload, { clockSkewSeconds: 30, now: NOW + 30 })).toBe('ERR_JWT_EXPIRED')
  })

  it('carries the verified claims and kid on JwtExpiredError', async () => {
    const payload = claims({ iat: NOW - 100, exp: NOW })
    const error = await verifyJwt(await sign(payload), lookup, OPTIONS).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JwtExpiredError)
    expect((error as JwtExpiredError).claims).toEqual(payload)
    expect((error as JwtExpiredError).kid).toBe(ring.kid)
    expect((error as Error).message).toBe('"exp" claim timestamp check failed')
  })

  it('reports an expired token that also breaks another rule for that rule, not as expired', async () => {
    const expired = { iat: NOW - 100, exp: NOW - 1 }
    expect(await outcome(claims({ ...expired, iss: 'iss-b' }))).toBe('ERR_JWT_CLAIM_INVALID')
    expect(await outcome(claims({ ...expired, aud: 'aud-b' }))).toBe('ERR_JWT_CLAIM_INVALID')
    expect(await outcome(claims({ ...expired, sub: 7 }))).toBe('ERR_JWT_CLAIM_INVALID')
    expect(await outcome(claims({ ...expired, iat: NOW - 10_000 }))).toBe('ERR_JWT_CLAIM_INVALID')
  })
})

describe('RFC 7519 §4.1.5–4.1.6: nbf and iat in the future', () => {
  it.each(['nbf', 'iat'])(
    'accepts %s up to now + skew and refuses one second more',
    async (name) => {
      const at = (t: number) => claims({ [name]: t, exp: NOW + 100 })
      expect(await outcome(at(NOW))).toBe('accepted')
      expect(await outcome(at(NOW + 1))).toBe('ERR_JWT_NOT_YET_VALID')
      expect(await outcome(at(NOW + 60), { clockSkewSeconds: 60 })).toBe('accepted')
      expect(await outcome(at(NOW + 61), { clockSkewSeconds: 60 })).toBe('ERR_JWT_NOT_YET_VALID')
    }
  )
})

describe('lifetime: exp - iat within the bound', () => {
  it('accepts exactly the longest lifetime and refuses one second more', async () => {
    expect(await outcome(claims({ iat: NOW, exp: NOW + LIFETIME }))).toBe('accepted')
    expect(await outcome(claims({ iat: NOW, exp: NOW + LIFETIME + 1 }))).toBe(
      'ERR_JWT_CLAIM_INVALID'
    )
  })

  it('refuses a far-future exp on an old iat', async () => {
    expect(await outcome(claims({ iat: 0, exp: NOW + 10 }))).toBe('ERR_JWT_CLAIM_INVALID')
  })
})

describe('required claims', () => {
  it.each(['iss', 'aud', 'sub', 'jti', 'iat', 'exp'])(
    'refuses a token without %s',
    async (name) => {
      const payload = claims()
      delete payload[name]
      expect(await outcome(payload)).toBe('ERR_JWT_CLAIM_INVALID')
    }
  )

  it.each([
    ['sub', ''],
    ['sub', 7],
    ['sub', null],
    ['jti', ''],
    ['jti', ['j']],
    ['iss', ''],
    ['iss', { v: 'iss-a' }],
  ])('refuses %s as %j', async (name, value) => {
    expect(await outcome(claims({ [name]: value }))).toBe('ERR_JWT_CLAIM_INVALID')
  })
})

describe('RFC 7519 §4.1.1: iss', () => {
  it.each([
    ['another issuer', 'iss-b'],
    ['the issuer in another case', 'ISS-A'],
    ['the issuer with a trailing space', 'iss-a '],
    ['the issuer in an array', ['iss-a']],
  ])('refuses %s', async (_, iss) => {
    expect(await outcome(claims({ iss }))).toBe('ERR_JWT_CLAIM_INVALID')
  })
})

describe('RFC 7519 §4.1.3: aud', () => {
  it.each([
    ['our audience', 'aud-a'],
    ['an array with ours', ['aud-b', 'aud-a']],
    ['an array of only ours', ['aud-a']],
  ])('accepts %s', async (_, aud) => {
    expect(await outcome(claims({ aud }))).toBe('accepted')
  })

  it.each([
    ['another audience', 'aud-b'],
    ['an array without ours', ['aud-b', 'aud-c']],
    ['an empty array', []],
    ['an array with ours and a non-string', ['aud-a', 1]],
    ['a nested array', [['aud-a']]],
    ['null', null],
    ['a number', 1],
    ['an object', { 'aud-a': true }],
  ])('refuses %s', async (_, aud) => {
    expect(await outcome(claims({ aud }))).toBe('ERR_JWT_CLAIM_INVALID')
  })
})
