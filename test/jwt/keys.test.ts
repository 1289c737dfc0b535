import { describe, expect, it } from 'vitest'
import { encode } from '../../src/jwt/base64url'
import { signJws, verifyJws } from '../../src/jwt/jws'
import { importRingKey, loadKeyRing, MIN_SECRET_BYTES } from '../../src/jwt/keys'
import { craft } from './craft'

const A = 'keys-unit-secret-a-0123456789abcdef01'
const B = 'keys-unit-secret-b-0123456789abcdef01'
const C = 'keys-unit-secret-c-0123456789abcdef01'

describe('importRingKey', () => {
  it('derives an 11-character kid, the same for the same secret and different for another', async () => {
    const a1 = await importRingKey(A)
    const a2 = await importRingKey(A)
    const b = await importRingKey(B)
    expect(a1.kid).toMatch(/^[A-Za-z0-9_-]{11}$/)
    expect(a2.kid).toBe(a1.kid)
    expect(b.kid).not.toBe(a1.kid)
  })

  it('derives the kid by HKDF-SHA-256 (RFC 5869), empty salt, info "edge-sessions kid", 8 bytes', async () => {
    const secret = new TextEncoder().encode(A)
    const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits'])
    const info = new TextEncoder().encode('edge-sessions kid')
    const params = { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info }
    const bits = await crypto.subtle.deriveBits(params, base, 64)
    expect((await importRingKey(A)).kid).toBe(encode(new Uint8Array(bits)))
  })

  it('uses the UTF-8 bytes of the secret as the HMAC key', async () => {
    const ring = await importRingKey(A)
    const token = await craft(A, { alg: 'HS256', typ: 'JWT', kid: ring.kid }, { sub: 's' })
    expect((await verifyJws(token, () => ring)).payload).toEqual({ sub: 's' })
  })

  it(`refuses a secret under ${MIN_SECRET_BYTES} bytes, counting bytes rather than characters`, async () => {
    await expect(importRingKey('x'.repeat(MIN_SECRET_BYTES - 1))).rejects.toBeInstanceOf(RangeError)
    await expect(importRingKey('€'.repeat(10))).rejects.toBeInstanceOf(RangeError)
    expect((await importRingKey('x'.repeat(MIN_SECRET_BYTES))).kid).toHaveLength(11)
    expect((await importRingKey('€'.repeat(11))).kid).toHaveLength(11)
  })

  it('imports a key that cannot be exported', async () => {
    const { key } = await importRingKey(A)
    expect(key.extractable).toBe(false)
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow()
  })
})

describe('loadKeyRing', () => {
  it('imports the keys once per isolate: the same secrets give the same ring', async () => {
    expect(loadKeyRing(A, B)).toBe(loadKeyRing(A, B))
    expect(await loadKeyRing(A, B)).toBe(await loadKeyRing(A, B))
    expect(await loadKeyRing(A)).not.toBe(await loadKeyRing(A, B))
  })

  it('finds the current key by its kid and for a header without kid', async () => {
    const ring = await loadKeyRing(A, B)
    expect(ring.lookup(ring.current.kid)).toBe(ring.current)
    expect(ring.lookup(undefined)).toBe(ring.current)
  })

  it('finds the previous key by its kid only', async () => {
    const ring = await loadKeyRing(A, B)
    expect(ring.previous).toBeDefined()
    expect(ring.lookup(ring.previous!.kid)).toBe(ring.previous)
    expect(ring.previous!.kid).toBe((await importRingKey(B)).kid)
  })

  it('finds nothing for an unknown kid, or for the previous kid once it is dropped', async () => {
    const rotating = await loadKeyRing(A, B)
    const done = await loadKeyRing(A)
    expect(done.lookup((await importRingKey(C)).kid)).toBeUndefined()
    expect(done.lookup(rotating.previous!.kid)).toBeUndefined()
    expect(done.lookup('')).toBeUndefined()
  })

  it('signs with the current key only', async () => {
    const ring = await loadKeyRing(A, B)
    const token = await signJws({ sub: 's' }, ring.current)
    const verified = await verifyJws(token, ring.lookup)
    expect(verified.kid).toBe(ring.current.kid)
  })

  it('verifies a token of the previous key during a rotation', async () => {
    const old = await loadKeyRing(B)
    const token = await signJws({ sub: 's' }, old.current)
    const rotating = await loadKeyRing(A, B)
    expect((await verifyJws(token, rotating.lookup)).kid).toBe(rotating.previous!.kid)
  })

  it('checks a token without kid against the current key only', async () => {
    const ring = await loadKeyRing(A, B)
    const header = { alg: 'HS256', typ: 'JWT' }
    const current = await craft(A, header, { sub: 's' })
    expect((await verifyJws(current, ring.lookup)).kid).toBe(ring.current.kid)
    const previous = await craft(B, header, { sub: 's' })
    await expect(verifyJws(previous, ring.lookup)).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_INVALID',
    })
  })

  it('refuses a token whose kid names one key but whose MAC is of the other', async () => {
    const ring = await loadKeyRing(A, B)
    const header = { alg: 'HS256', typ: 'JWT', kid: ring.previous!.kid }
    await expect(
      verifyJws(await craft(A, header, { sub: 's' }), ring.lookup)
    ).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_INVALID' })
  })

  it('rejects a ring whose previous secret is too short, and forgets the failed attempt', async () => {
    const first = loadKeyRing(A, 'short')
    await expect(first).rejects.toBeInstanceOf(RangeError)
    const second = loadKeyRing(A, 'short')
    expect(second).not.toBe(first)
    await expect(second).rejects.toBeInstanceOf(RangeError)
  })
})
