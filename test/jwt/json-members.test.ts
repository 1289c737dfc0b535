import { describe, expect, it } from 'vitest'
import { parseJsonObject } from '../../src/jwt/json'

const bytes = (text: string) => new TextEncoder().encode(text)

describe('parseJsonObject: member names, counted against the parsed object', () => {
  it.each([
    ['a colon inside a name', '{"a:b":1,"a":2}', { 'a:b': 1, a: 2 }],
    ['a colon inside a string value', '{"a":"x:y:z","b":":"}', { a: 'x:y:z', b: ':' }],
    [
      'colons in a nested object',
      '{"a":{"b":1,"c":{"d":2}},"e":3}',
      { a: { b: 1, c: { d: 2 } }, e: 3 },
    ],
    ['objects inside an array', '{"a":[{"b":1},{"b":2}],"b":3}', { a: [{ b: 1 }, { b: 2 }], b: 3 }],
    ['an escaped quote before a colon', '{"a\\":":1,"b":"\\":"}', { 'a":': 1, b: '":' }],
    ['an escaped backslash ending a string', '{"a\\\\":1,"b":"\\\\"}', { 'a\\': 1, b: '\\' }],
    [
      'names that differ only in case or digits',
      '{"1":1,"01":2,"A":3,"a":4}',
      { 1: 1, '01': 2, A: 3, a: 4 },
    ],
    ['one __proto__ member', '{"__proto__":1,"x":2}', JSON.parse('{"__proto__":1,"x":2}')],
  ])('accepts %s', (_, text, expected) => {
    expect(parseJsonObject(bytes(text))).toEqual(expected)
  })

  it.each([
    ['a repeated name', '{"sub":"a","sub":"b"}'],
    ['a repeated name after a colon in a string', '{"a":"x:y","a":1}'],
    ['a repeated name after a nested object', '{"a":{"a":1,"b":2},"a":3}'],
    ['a repeated name spelled with an escape', '{"kid":"k","\\u006bid":"j"}'],
    ['a repeated __proto__', '{"__proto__":1,"__proto__":2}'],
    ['a repeated name around whitespace', '{ "a" : 1 ,\n "a"\t:\r2 }'],
  ])('refuses %s', (_, text) => {
    expect(parseJsonObject(bytes(text))).toBeUndefined()
  })
})
