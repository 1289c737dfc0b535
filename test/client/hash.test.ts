import { describe, expect, it } from 'vitest'
import { CLIENT_TAG_LENGTH, clientHasher, clientTag } from '../../src/client/hash'
import { encode } from '../../src/jwt/base64url'

const SECRET = new TextEncoder().encode('hash-test-secret-0123456789abcdef0123')
const OTHER = new TextEncoder().encode('hash-test-secret-other-0123456789abcd')
const KEY = 'ipv4:203.0.113.7'

async function hmac(keyBytes: Uint8Array, text: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    keyBytes,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign']
  )
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(text))
  return encode(new Uint8Array(mac))
}

/** HKDF-SHA-256 (RFC 5869) with an empty salt, computed here independently of src/. */
async function hkdf(secret: Uint8Array, info: string): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new Uint8Array(0),
      info: new TextEncoder().encode(info),
    },
    base,
    256
  )
  return new Uint8Array(bits)
}

describe('clientHasher', () => {
  it('is HMAC-SHA-256 under HKDF(secret, info "edge-sessions client-key"), base64url', async () => {
    const expected = await hmac(await hkdf(SECRET, 'edge-sessions client-key'), KEY)
    expect(await (await clientHasher(SECRET))(KEY)).toBe(expected)
  })

  it('does not use the signing secret itself as the HMAC key', async () => {
    expect(await (await clientHasher(SECRET))(KEY)).not.toBe(await hmac(SECRET, KEY))
  })

  it('is not an unkeyed SHA-256 of the client key', async () => {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(KEY))
    expect(await (await clientHasher(SECRET))(KEY)).not.toBe(encode(new Uint8Array(digest)))
  })

  it('gives one client key one hash per secret, and another under another secret', async () => {
    const hash = await clientHasher(SECRET)
    const other = await clientHasher(OTHER)
    expect(await hash(KEY)).toBe(await hash(KEY))
    expect(await other(KEY)).not.toBe(await hash(KEY))
  })

  it('tells different client keys apart', async () => {
    const hash = await clientHasher(SECRET)
    const keys = [
      'ipv4:203.0.113.7',
      'ipv4:203.0.113.8',
      'ipv6:2001:db8::/64',
      'ipv6:2001:db8::/48',
    ]
    const hashes = await Promise.all(keys.map(hash))
    expect(new Set(hashes).size).toBe(keys.length)
    for (const value of hashes) {
      expect(value).toMatch(/^[\w-]{43}$/)
    }
  })
})

describe('clientTag', () => {
  it(`is the first ${CLIENT_TAG_LENGTH} characters (96 bits) of the hash`, async () => {
    const hash = await (await clientHasher(SECRET))(KEY)
    expect(CLIENT_TAG_LENGTH).toBe(16)
    expect(clientTag(hash)).toBe(hash.slice(0, 16))
  })
})
