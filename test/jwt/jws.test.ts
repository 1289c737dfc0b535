import { beforeAll, describe, expect, it } from 'vitest'
import { encode, encodeText } from '../../src/jwt/base64url'
import { MAX_TOKEN_LENGTH, signJws, verifyJws, type KeyLookup } from '../../src/jwt/jws'
import { importRingKey, type RingKey } from '../../src/jwt/keys'
import { craft, part, signEncoded, toStandardBase64, withTrailingBits } from './craft'

const SECRET = 'jws-unit-secret-0123456789abcdef0123'
const PAYLOAD = { sub: 's1', n: 1 }

let ring: RingKey
let lookup: KeyLookup
let header: Record<string, unknown>
let lookups: (string | undefined)[]

beforeAll(async () => {
  ring = await importRingKey(SECRET)
  header = { alg: 'HS256', typ: 'JWT', kid: ring.kid }
})

function countingLookup(): KeyLookup {
  lookups = []
  return (kid) => {
    lookups.push(kid)
    return kid === undefined || kid === ring.kid ? ring : undefined
  }
}

async function refusal(token: string): Promise<{ code: string; message: string }> {
  lookup = countingLookup()
  return verifyJws(token, lookup).then(
    () => ({ code: 'accepted', message: '' }),
    (error: { code: string; message: string }) => ({ code: error.code, message: error.message })
  )
}

describe('signJws', () => {
  it('writes exactly alg, typ and kid in the header and verifies round trip', async () => {
    const token = await signJws(PAYLOAD, ring)
    const verified = await verifyJws(token, countingLookup())
    expect(verified.header).toEqual({ alg: 'HS256', typ: 'JWT', kid: ring.kid })
    expect(verified.payload).toEqual(PAYLOAD)
    expect(verified.kid).toBe(ring.kid)
    expect(lookups).toEqual([ring.kid])
  })
})

describe('length bound, checked before any split or decode', () => {
  /** A validly signed token of exactly `length` characters, padded in header and payload. */
  async function tokenOfLength(length: number): Promise<string> {
    for (let h = 0; h < 4; h++) {
      const padded = { ...header, x: 'y'.repeat(h) }
      const base = (await craft(SECRET, padded, { ...PAYLOAD, pad: '' })).length
      const guess = Math.max(0, Math.floor(((length - base) * 3) / 4) - 2)
      for (let n = guess; n < guess + 4; n++) {
        const token = await craft(SECRET, padded, { ...PAYLOAD, pad: 'x'.repeat(n) })
        if (token.length === length) {
          return token
        }
      }
    }
    throw new Error(`no token of length ${length}`)
  }

  it(`verifies a valid token of exactly ${MAX_TOKEN_LENGTH} characters`, async () => {
    const token = await tokenOfLength(MAX_TOKEN_LENGTH)
    expect(token.length).toBe(MAX_TOKEN_LENGTH)
    expect(await refusal(token)).toEqual({ code: 'accepted', message: '' })
  })

  it(`refuses a validly signed token of ${MAX_TOKEN_LENGTH + 1} characters by the bound`, async () => {
    const token = await tokenOfLength(MAX_TOKEN_LENGTH + 1)
    expect(await refusal(token)).toEqual({
      code: 'ERR_JWS_INVALID',
      message: 'token length is out of bounds',
    })
    expect(lookups).toEqual([])
  })

  it.each([
    ['a 1 MB token', () => `${'e'.repeat(500_000)}.${'e'.repeat(500_000)}.AAAA`],
    ['a header of 100,000 dots', () => '.'.repeat(100_000)],
    ['1 MB of one base64url character', () => 'A'.repeat(1 << 20)],
    ['the empty string', () => ''],
  ])('refuses %s by the bound, before any lookup', async (_, make) => {
    const result = await refusal(make())
    expect(result).toEqual({ code: 'ERR_JWS_INVALID', message: 'token length is out of bounds' })
    expect(lookups).toEqual([])
  })
})

describe('compact serialisation: exactly three non-empty parts', () => {
  it.each([
    ['one part', (t: string) => t.split('.')[0]!],
    ['two parts', (t: string) => t.split('.').slice(0, 2).join('.')],
    ['four parts', (t: string) => `${t}.${t.split('.')[2]}`],
    ['five parts (JWE shape)', (t: string) => `${t}.AAAA.AAAA`],
    ['an empty signature', (t: string) => t.slice(0, t.lastIndexOf('.') + 1)],
    ['an empty payload', (t: string) => `${t.split('.')[0]}..${t.split('.')[2]}`],
    ['an empty header', (t: string) => t.slice(t.indexOf('.'))],
    ['a leading dot', (t: string) => `.${t}`],
    ['a trailing dot', (t: string) => `${t}.`],
    ['only dots', () => '..'],
  ])('refuses %s', async (_, mutate) => {
    const token = await signJws(PAYLOAD, ring)
    expect((await refusal(mutate(token))).code).toBe('ERR_JWS_INVALID')
    expect(lookups).toEqual([])
  })
})

describe('header rules, before the MAC', () => {
  it.each([
    ['"none"', 'none'],
    ['"None"', 'None'],
    ['"NONE"', 'NONE'],
    ['"nOnE"', 'nOnE'],
    ['"hs256"', 'hs256'],
    ['"HS256 " with a space', 'HS256 '],
    ['"HS384"', 'HS384'],
    ['"HS512"', 'HS512'],
    ['"RS256"', 'RS256'],
    ['"ES256"', 'ES256'],
    ['"EdDSA"', 'EdDSA'],
    ['missing', undefined],
    ['a number', 256],
    ['null', null],
    ['an array', ['HS256']],
    ['an object', { name: 'HS256' }],
  ])('refuses alg %s with ERR_JWS_ALG_NOT_ALLOWED', async (_, alg) => {
    const token = await craft(SECRET, { ...header, alg }, PAYLOAD)
    expect(await refusal(token)).toMatchObject({ code: 'ERR_JWS_ALG_NOT_ALLOWED' })
    expect(lookups).toEqual([])
  })

  it.each([
    ['missing', undefined],
    ['"jwt"', 'jwt'],
    ['"JWS"', 'JWS'],
    ['"at+jwt"', 'at+jwt'],
    ['"application/jwt"', 'application/jwt'],
    ['a number', 1],
    ['null', null],
  ])('refuses typ %s', async (_, typ) => {
    const token = await craft(SECRET, { ...header, typ }, PAYLOAD)
    expect(await refusal(token)).toEqual({
      code: 'ERR_JWS_INVALID',
      message: '"typ" header must be "JWT"',
    })
  })

  it.each([
    ['crit naming exp', { crit: ['exp'] }],
    ['an empty crit', { crit: [] }],
    ['crit naming b64', { crit: ['b64'], b64: false }],
    ['b64 false', { b64: false }],
    ['b64 true', { b64: true }],
  ])('refuses a header with %s', async (_, extra) => {
    const token = await craft(SECRET, { ...header, ...extra }, PAYLOAD)
    expect(await refusal(token)).toMatchObject({ code: 'ERR_JWS_INVALID' })
    expect(lookups).toEqual([])
  })

  it.each([
    ['a number', 1],
    ['null', null],
    ['an array', ['k']],
  ])('refuses a kid that is %s', async (_, kid) => {
    const token = await craft(SECRET, { ...header, kid }, PAYLOAD)
    expect(await refusal(token)).toEqual({
      code: 'ERR_JWS_INVALID',
      message: '"kid" header must be a string',
    })
  })

  it.each([
    ['an unknown kid', 'AAAAAAAAAAA'],
    ['an empty kid', ''],
    ['the kid in another case', () => ring.kid.toUpperCase()],
  ])('refuses %s with ERR_JWS_UNKNOWN_KID', async (_, kid) => {
    const value = typeof kid === 'function' ? kid() : kid
    const token = await craft(SECRET, { ...header, kid: value }, PAYLOAD)
    expect(await refusal(token)).toMatchObject({ code: 'ERR_JWS_UNKNOWN_KID' })
    expect(lookups).toEqual([value])
  })

  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '1'],
    ['a string', '"HS256"'],
    ['a duplicate alg', `{"alg":"none","typ":"JWT","alg":"HS256"}`],
  ])('refuses a header that is %s', async (_, text) => {
    const token = await craft(SECRET, text, PAYLOAD)
    expect(await refusal(token)).toEqual({
      code: 'ERR_JWS_INVALID',
      message: 'header is not a base64url JSON object',
    })
  })

  it('refuses a header of invalid UTF-8', async () => {
    const raw = [...new TextEncoder().encode('{"alg":"HS256","typ":"JWT","x":"'), 0xff, 0x22, 0x7d]
    const token = await signEncoded(SECRET, part(raw), encodeText(JSON.stringify(PAYLOAD)))
    expect((await refusal(token)).code).toBe('ERR_JWS_INVALID')
  })

  it('ignores key-carrying header members: jwk, jku and x5u never choose the key', async () => {
    const attacker = 'attacker-secret-0123456789abcdef012345'
    const k = encodeText(attacker)
    const hostile = { ...header, jwk: { kty: 'oct', k }, jku: 'https://evil.example/jwks' }
    expect((await refusal(await craft(attacker, hostile, PAYLOAD))).code).toBe(
      'ERR_JWS_SIGNATURE_INVALID'
    )
    expect((await refusal(await craft(SECRET, hostile, PAYLOAD))).code).toBe('accepted')
  })
})

describe('the MAC, over the received bytes, before the payload is read', () => {
  it('refuses a payload that is not base64url only after its MAC verified', async () => {
    const h = encodeText(JSON.stringify(header))
    const forged = `${h}.!!not-base64!!.${encode(new Uint8Array(32))}`
    expect((await refusal(forged)).code).toBe('ERR_JWS_SIGNATURE_INVALID')
    const signed = await signEncoded(SECRET, h, '!!not-base64!!')
    expect(await refusal(signed)).toEqual({
      code: 'ERR_JWS_INVALID',
      message: 'payload is not a base64url JSON object',
    })
  })

  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '1'],
    ['a string', '"{}"'],
    ['a duplicate sub', '{"sub":"a","sub":"b"}'],
  ])('refuses a validly signed payload that is %s', async (_, text) => {
    expect(await refusal(await craft(SECRET, header, text))).toEqual({
      code: 'ERR_JWS_INVALID',
      message: 'payload is not a base64url JSON object',
    })
  })

  it('refuses a validly signed payload of invalid UTF-8', async () => {
    const h = encodeText(JSON.stringify(header))
    const token = await signEncoded(SECRET, h, part([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xc0, 0x7d]))
    expect((await refusal(token)).code).toBe('ERR_JWS_INVALID')
  })

  it('refuses a signature of another length than 32 bytes', async () => {
    const token = await signJws(PAYLOAD, ring)
    const input = token.slice(0, token.lastIndexOf('.'))
    for (const size of [1, 31, 33, 48, 64]) {
      const sig = encode(new Uint8Array(size))
      expect((await refusal(`${input}.${sig}`)).code).toBe('ERR_JWS_INVALID')
    }
  })

  it.each([1, 2, 3])(
    'refuses a signature whose last character sets unused bits (%i), which decodes to the same MAC',
    async (bits) => {
      const token = await signJws(PAYLOAD, ring)
      expect(await refusal(withTrailingBits(token, bits))).toEqual({
        code: 'ERR_JWS_INVALID',
        message: 'signature is not a canonical HS256 value',
      })
    }
  )

  it('refuses a padded or standard-alphabet signature', async () => {
    const token = await signJws(PAYLOAD, ring)
    const input = token.slice(0, token.lastIndexOf('.'))
    const signature = token.slice(token.lastIndexOf('.') + 1)
    expect((await refusal(`${input}.${signature}=`)).code).toBe('ERR_JWS_INVALID')
    const standard = toStandardBase64(signature)
    expect((await refusal(`${input}.${standard}`)).code).toBe('ERR_JWS_INVALID')
  })

  it.each([
    ['a space', ' '],
    ['a tab', '\t'],
    ['a line feed', '\n'],
    ['a CR LF', '\r\n'],
    ['a no-break space', '\u00a0'],
  ])('refuses %s in any part, even when the MAC covers it', async (_, ws) => {
    const h = encodeText(JSON.stringify(header))
    const p = encodeText(JSON.stringify(PAYLOAD))
    const at = (text: string) => `${text.slice(0, 4)}${ws}${text.slice(4)}`
    const inHeader = await signEncoded(SECRET, at(h), p)
    const inPayload = await signEncoded(SECRET, h, at(p))
    const good = await signEncoded(SECRET, h, p)
    const inSignature = `${h}.${p}.${at(good.split('.')[2]!)}`
    for (const token of [inHeader, inPayload, inSignature, `${ws}${good}`, `${good}${ws}`]) {
      expect((await refusal(token)).code).toBe('ERR_JWS_INVALID')
    }
  })
})
