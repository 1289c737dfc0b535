import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decode, encode, encodeText } from '../../src/jwt/base64url'

const bytes = (...values: number[]) => new Uint8Array(values)

describe('base64url encode (RFC 4648 §5, unpadded)', () => {
  it.each([
    ['', []],
    ['AA', [0]],
    ['AAA', [0, 0]],
    ['AAAA', [0, 0, 0]],
    ['_w', [255]],
    ['__8', [255, 255]],
    ['____', [255, 255, 255]],
    ['-_8', [0xfb, 0xff]],
  ])('encodes %j', (text, values) => {
    expect(encode(bytes(...values))).toBe(text)
    expect(decode(text)).toEqual(bytes(...values))
  })

  it.each([
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ])('RFC 4648 §10 vector %j encodes as %j without padding', (text, encoded) => {
    expect(encodeText(text)).toBe(encoded)
  })

  it('encodes UTF-8 text by its bytes', () => {
    expect(encodeText('é')).toBe(encode(bytes(0xc3, 0xa9)))
  })

  it('round-trips any bytes through one canonical text (1000 runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (input) => {
        const text = encode(input)
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/)
        expect(text.length).toBe(Math.ceil((input.length * 4) / 3))
        expect(decode(text)).toEqual(input)
      }),
      { numRuns: 1000 }
    )
  })

  it('agrees with the platform base64 on any bytes (1000 runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (input) => {
        const standard = btoa(String.fromCharCode(...input))
        expect(encode(input)).toBe(
          standard.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')
        )
      }),
      { numRuns: 1000 }
    )
  })
})

describe('base64url decode refuses every non-canonical text', () => {
  it.each([
    ['padding', 'AA=='],
    ['one padding character', 'AAA='],
    ['"+" of standard base64', '-+8'],
    ['"/" of standard base64', '_/8'],
    ['a space', 'AA AA'],
    ['a leading space', ' AAAA'],
    ['a trailing newline', 'AAAA\n'],
    ['a CR LF', 'AA\r\nAA'],
    ['a tab', 'AA\tA'],
    ['a dot', 'AA.A'],
    ['an impossible length', 'AAAAA'],
    ['a single character', 'A'],
    ['a non-ASCII letter', 'AAAé'],
    ['a fullwidth letter', 'AAAＡ'],
    ['a NUL', 'AA\u0000A'],
    ['set trailing bits after one byte', '_x'],
    ['set trailing bits after two bytes', '__9'],
    ['the lowest trailing bit after one byte', 'AB'],
    ['the lowest trailing bit after two bytes', 'AAB'],
  ])('refuses %s', (_, text) => {
    expect(decode(text)).toBeUndefined()
  })

  it('accepts the empty text as no bytes', () => {
    expect(decode('')).toEqual(new Uint8Array(0))
  })

  it('refuses any text outside the alphabet (1000 runs)', () => {
    const outside = fc
      .string({ minLength: 1, maxLength: 1, unit: 'grapheme' })
      .filter((ch) => !/^[A-Za-z0-9_-]$/.test(ch))
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0189-_'), maxLength: 12 }),
        outside,
        fc.nat(12),
        (valid, bad, at) => {
          const i = Math.min(at, valid.length)
          expect(decode(valid.slice(0, i) + bad + valid.slice(i))).toBeUndefined()
        }
      ),
      { numRuns: 1000 }
    )
  })

  it('decodes at most one text per byte string: every accepted text re-encodes to itself (2000 runs)', () => {
    let accepted = 0
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AQgw_-/+=9 '), maxLength: 11 }), (text) => {
        const decoded = decode(text)
        if (decoded !== undefined) {
          accepted++
          expect(encode(decoded)).toBe(text)
        }
      }),
      { numRuns: 2000 }
    )
    expect(accepted).toBeGreaterThan(100)
  })
})
