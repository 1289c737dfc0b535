import { describe, expect, it } from 'vitest'
import { parseJsonObject } from '../../src/jwt/json'

const utf8 = (text: string) => new TextEncoder().encode(text)

describe('parseJsonObject', () => {
  it.each([
    ['an object', '{"a":1}', { a: 1 }],
    ['an empty object', '{}', {}],
    ['insignificant whitespace', ' {\r\n "a" : 1 ,\t"b":[1,{"a":2}]} ', { a: 1, b: [1, { a: 2 }] }],
    [
      'a repeated name inside a nested object',
      '{"a":{"x":1},"b":{"x":2}}',
      { a: { x: 1 }, b: { x: 2 } },
    ],
    [
      'a repeated name in nested arrays',
      '{"a":[{"x":1,"y":1}],"x":[{"x":2}]}',
      { a: [{ x: 1, y: 1 }], x: [{ x: 2 }] },
    ],
    ['a name that only looks like another', '{"a":1,"A":2,"a ":3}', { a: 1, A: 2, 'a ': 3 }],
    ['an escaped quote in a name', '{"a\\"b":1,"a":2}', { 'a"b': 1, a: 2 }],
    ['a value equal to a name', '{"a":"a","b":"a"}', { a: 'a', b: 'a' }],
    ['non-ASCII text', '{"ü":"日本"}', { ü: '日本' }],
  ])('accepts %s', (_, text, expected) => {
    expect(parseJsonObject(utf8(text))).toEqual(expected)
  })

  it.each([
    ['an array', '[1]'],
    ['null', 'null'],
    ['a number', '1'],
    ['a string', '"{}"'],
    ['true', 'true'],
    ['nothing', ''],
    ['truncated JSON', '{"a":1'],
    ['a trailing comma', '{"a":1,}'],
    ['a single-quoted name', "{'a':1}"],
    ['two objects', '{}{}'],
    ['a byte order mark', '\ufeff{}'],
    ['a duplicate member', '{"a":1,"a":1}'],
    ['a duplicate member with another value', '{"alg":"none","alg":"HS256"}'],
    ['a duplicate member spelled with an escape', '{"alg":"HS256","\\u0061lg":"none"}'],
    ['a duplicate member after a nested object', '{"a":{"b":1},"c":[],"a":2}'],
    ['a duplicate member across whitespace', '{"a" :1,\n"a"\t: 2}'],
  ])('refuses %s', (_, text) => {
    expect(parseJsonObject(utf8(text))).toBeUndefined()
  })

  it.each([
    ['a lone continuation byte', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]],
    ['a truncated sequence', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]],
    ['an overlong "/"', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]],
    ['an encoded surrogate', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]],
    ['a byte 0xff', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]],
    ['a UTF-16 object', [0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]],
  ])('refuses invalid UTF-8: %s', (_, raw) => {
    expect(parseJsonObject(new Uint8Array(raw))).toBeUndefined()
  })

  it('takes a member named __proto__ as data, not as the prototype', () => {
    const parsed = parseJsonObject(utf8('{"__proto__":{"alg":"HS256"}}'))
    expect(parsed).toBeDefined()
    expect(parsed!.alg).toBeUndefined()
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
  })
})
