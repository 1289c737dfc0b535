import { describe, expect, it } from 'vitest'
import { decode, encode, encodeText } from '../../src/jwt/base64url'
import { verifyJws, type KeyLookup } from '../../src/jwt/jws'
import { verifyJwt } from '../../src/jwt/jwt'

/** RFC 7515 Appendix A.1: the HS256 example, its key as the JWK `k` value. */
const A1 = {
  k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
  header: 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9',
  payload:
    'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ',
  signature: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  exp: 1300819380,
}
const A1_TOKEN = `${A1.header}.${A1.payload}.${A1.signature}`

/** RFC 7519 §6.1: the unsecured JWT example (`alg` "none", empty signature). */
const UNSECURED = `eyJhbGciOiJub25lIn0.${A1.payload}.`

async function hmacKey(raw: Uint8Array, usages: string[] = ['verify']): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, usages)
}

/** A lookup that knows only the A.1 key, for a header without `kid` (as A.1 has none). */
async function a1Lookup(): Promise<KeyLookup> {
  const key = await hmacKey(decode(A1.k)!)
  return (kid) => (kid === undefined ? { kid: 'rfc7515-a1', key } : undefined)
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
const fromHex = (text: string) => Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16))

describe('RFC 7515 Appendix A.1 (HS256 JWS)', () => {
  it('A.1 verifies one second before its exp, with the claims as sent', async () => {
    const { claims, kid } = await verifyJwt(A1_TOKEN, await a1Lookup(), { now: A1.exp - 1 })
    expect(kid).toBe('rfc7515-a1')
    expect(claims).toEqual({ iss: 'joe', exp: A1.exp, 'http://example.com/is_root': true })
  })

  it('A.1 fails at its exp with ERR_JWT_EXPIRED', async () => {
    const refused = verifyJwt(A1_TOKEN, await a1Lookup(), { now: A1.exp })
    await expect(refused).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' })
  })

  it('A.1 with a 60 s clock skew verifies until exp + 59 and fails at exp + 60', async () => {
    const options = { now: A1.exp + 60, clockSkewSeconds: 60 }
    await expect(verifyJwt(A1_TOKEN, await a1Lookup(), options)).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    })
    const inside = await verifyJwt(A1_TOKEN, await a1Lookup(), { ...options, now: A1.exp + 59 })
    expect(inside.claims.iss).toBe('joe')
  })

  it('A.1 header and payload carry CR LF, and the MAC is over the received ASCII bytes', async () => {
    expect(new TextDecoder().decode(decode(A1.header))).toBe('{"typ":"JWT",\r\n "alg":"HS256"}')
    expect(new TextDecoder().decode(decode(A1.payload))).toContain(',\r\n "exp"')
    const key = await hmacKey(decode(A1.k)!, ['sign'])
    const input = new TextEncoder().encode(`${A1.header}.${A1.payload}`)
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, input))
    expect(encode(mac)).toBe(A1.signature)
  })

  it('A.1 re-serialised without CR LF no longer verifies: we never sign our own re-encoding', async () => {
    const reencode = (part: string) =>
      encodeText(JSON.stringify(JSON.parse(new TextDecoder().decode(decode(part)))))
    const lookup = await a1Lookup()
    const variants = [
      `${reencode(A1.header)}.${A1.payload}.${A1.signature}`,
      `${A1.header}.${reencode(A1.payload)}.${A1.signature}`,
    ]
    for (const token of variants) {
      expect(token).not.toBe(A1_TOKEN)
      await expect(verifyJws(token, lookup)).rejects.toMatchObject({
        code: 'ERR_JWS_SIGNATURE_INVALID',
      })
    }
  })

  it('A.1 under another key is refused', async () => {
    const other = await hmacKey(new Uint8Array(64).fill(7))
    const lookup: KeyLookup = () => ({ kid: 'other', key: other })
    await expect(verifyJws(A1_TOKEN, lookup)).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_INVALID',
    })
  })

  it('A.1 is refused when the lookup knows no key for a header without kid', async () => {
    await expect(verifyJws(A1_TOKEN, () => undefined)).rejects.toMatchObject({
      code: 'ERR_JWS_UNKNOWN_KID',
    })
  })
})

describe('RFC 7519 §6.1 (unsecured JWT)', () => {
  it('§6.1 example is refused, before any key is looked up', async () => {
    let lookups = 0
    const lookup: KeyLookup = () => {
      lookups++
      return undefined
    }
    await expect(verifyJwt(UNSECURED, lookup, { now: A1.exp - 1 })).rejects.toMatchObject({
      code: 'ERR_JWS_INVALID',
    })
    expect(lookups).toBe(0)
  })

  it('§6.1 example with the A.1 signature appended is refused for its alg', async () => {
    const token = `${UNSECURED}${A1.signature}`
    await expect(verifyJwt(token, await a1Lookup(), { now: A1.exp - 1 })).rejects.toMatchObject({
      code: 'ERR_JWS_ALG_NOT_ALLOWED',
    })
  })
})

describe('RFC 4231 (HMAC-SHA-256 on crypto.subtle)', () => {
  it.each([
    [
      '§4.2 test case 1',
      '0b'.repeat(20),
      encodeHex('Hi There'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      '§4.3 test case 2',
      encodeHex('Jefe'),
      encodeHex('what do ya want for nothing?'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      '§4.7 test case 6 (key longer than a block)',
      'aa'.repeat(131),
      encodeHex('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
  ])('%s', async (_, keyHex, dataHex, macHex) => {
    const key = await hmacKey(fromHex(keyHex), ['sign', 'verify'])
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, fromHex(dataHex)))
    expect(hex(mac)).toBe(macHex)
    expect(await crypto.subtle.verify('HMAC', key, fromHex(macHex), fromHex(dataHex))).toBe(true)
  })
})

function encodeHex(text: string): string {
  return hex(new TextEncoder().encode(text))
}
