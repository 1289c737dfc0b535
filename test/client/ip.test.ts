import { describe, expect, it } from 'vitest'
import { ClientIpError, canonicalIp, clientKey, parseIp } from '../../src/client/ip'

function expectInvalid(raw: string): void {
  let caught: unknown
  try {
    parseIp(raw)
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(ClientIpError)
  const error = caught as ClientIpError
  expect(error.code).toBe('ERR_CLIENT_IP_INVALID')
  expect(error.name).toBe('ClientIpError')
  if (raw.length > 0) expect(error.message).not.toContain(raw)
  expect(() => canonicalIp(raw)).toThrow(ClientIpError)
  expect(() => clientKey(raw, 64)).toThrow(ClientIpError)
}

describe('parseIp', () => {
  it('parses IPv4 into 4 bytes', () => {
    const ip = parseIp('203.0.113.7')
    expect(ip.version).toBe(4)
    expect(Array.from(ip.bytes)).toEqual([203, 0, 113, 7])
  })

  it('parses IPv6 into 16 bytes in network order', () => {
    const ip = parseIp('2001:db8::ff01')
    expect(ip.version).toBe(6)
    expect(Array.from(ip.bytes)).toEqual([32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 1])
  })

  it('parses a trailing embedded IPv4 as the last two groups', () => {
    const ip = parseIp('64:ff9b::192.0.2.33')
    expect(Array.from(ip.bytes.subarray(12))).toEqual([192, 0, 2, 33])
  })
})

describe('canonicalIp for IPv4', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0'],
    ['203.0.113.7', '203.0.113.7'],
    ['255.255.255.255', '255.255.255.255'],
    ['10.0.100.1', '10.0.100.1'],
  ])('keeps %s as %s', (raw, expected) => {
    expect(canonicalIp(raw)).toBe(expected)
  })
})

describe('canonicalIp for IPv6 (RFC 5952)', () => {
  it.each([
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
    ['::192.0.2.1', '::c000:201'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['::ffff:0:0:1', '::ffff:0:0:1'],
  ])('writes %s as %s', (raw, expected) => {
    expect(canonicalIp(raw)).toBe(expected)
  })
})

describe('canonicalIp for IPv4-mapped IPv6', () => {
  it.each([
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['::FFFF:CB00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:0.0.0.0', '0.0.0.0'],
  ])('returns %s as IPv4 text %s', (raw, expected) => {
    expect(canonicalIp(raw)).toBe(expected)
  })
})

describe('clientKey', () => {
  it.each([
    ['203.0.113.7', 64, 'ipv4:203.0.113.7'],
    ['203.0.113.7', 128, 'ipv4:203.0.113.7'],
    ['::ffff:203.0.113.7', 64, 'ipv4:203.0.113.7'],
    ['::ffff:cb00:7107', 64, 'ipv4:203.0.113.7'],
    ['::ffff:203.0.113.8', 64, 'ipv4:203.0.113.8'],
    ['2001:DB8::1', 64, 'ipv6:2001:db8::/64'],
    ['2001:db8:0:0:0:0:0:1', 64, 'ipv6:2001:db8::/64'],
    ['2001:db8:1234:5678:9abc:def0:1:2', 48, 'ipv6:2001:db8:1234::/48'],
    ['2001:db8:1234:5678:9abc:def0:1:2', 56, 'ipv6:2001:db8:1234:5600::/56'],
    ['2001:db8:1234:5678:9abc:def0:1:2', 128, 'ipv6:2001:db8:1234:5678:9abc:def0:1:2/128'],
    ['2001:db8:1234:5678:9abc:def0:1:2', 32, 'ipv6:2001:db8::/32'],
    ['2001:db8:1234:56ff::', 63, 'ipv6:2001:db8:1234:56fe::/63'],
    ['::1', 64, 'ipv6:::/64'],
    ['::192.0.2.1', 64, 'ipv6:::/64'],
  ])('keys %s at /%i as %s', (raw, prefixBits, expected) => {
    expect(clientKey(raw, prefixBits)).toBe(expected)
  })

  it('gives 2001:DB8::1 and 2001:db8:0:0:0:0:0:1 the same key', () => {
    expect(clientKey('2001:DB8::1', 64)).toBe(clientKey('2001:db8:0:0:0:0:0:1', 64))
    expect(clientKey('2001:DB8::1', 128)).toBe(clientKey('2001:db8:0:0:0:0:0:1', 128))
  })

  it('gives the dotted and hex forms of one IPv4-mapped address the same key', () => {
    expect(clientKey('::ffff:203.0.113.7', 64)).toBe(clientKey('::ffff:cb00:7107', 64))
  })

  it('gives a neighbouring IPv4-mapped address a different key', () => {
    expect(clientKey('::ffff:203.0.113.8', 64)).not.toBe(clientKey('::ffff:203.0.113.7', 64))
  })

  it('gives two addresses in one /64 the same key', () => {
    expect(clientKey('2001:db8:aa:bb:1::1', 64)).toBe(clientKey('2001:db8:aa:bb:ffff::9', 64))
  })

  it('gives addresses in different /64s different keys', () => {
    expect(clientKey('2001:db8:aa:bb::1', 64)).not.toBe(clientKey('2001:db8:aa:bc::1', 64))
  })

  it('does not treat IPv4-compatible or NAT64 addresses as IPv4', () => {
    expect(clientKey('::192.0.2.1', 128)).toBe('ipv6:::c000:201/128')
    expect(clientKey('64:ff9b::192.0.2.33', 128)).toBe('ipv6:64:ff9b::c000:221/128')
  })

  it.each([31, 129, 64.5, 0, -64, Number.NaN, Number.POSITIVE_INFINITY])(
    'throws RangeError for prefixBits %s',
    (prefixBits) => {
      expect(() => clientKey('2001:db8::1', prefixBits)).toThrow(RangeError)
      expect(() => clientKey('203.0.113.7', prefixBits)).toThrow(RangeError)
    }
  )
})

describe('rejects invalid IPv4 literals', () => {
  it.each([
    ['a leading zero', '01.2.3.4'],
    ['a double zero octet', '1.00.3.4'],
    ['an octal-looking octet', '0177.0.0.1'],
    ['a hex octet', '0x7f.0.0.1'],
    ['shorthand with two parts', '127.1'],
    ['shorthand with three parts', '127.0.1'],
    ['a single integer', '2130706433'],
    ['five octets', '1.2.3.4.5'],
    ['an octet of 256', '1.2.3.256'],
    ['an octet of 999', '999.1.1.1'],
    ['a four-digit octet', '1.2.3.1000'],
    ['a leading space', ' 1.2.3.4'],
    ['a trailing space', '1.2.3.4 '],
    ['a trailing newline', '1.2.3.4\n'],
    ['an inner space', '1.2. 3.4'],
    ['a plus sign', '+1.2.3.4'],
    ['a minus sign', '1.-2.3.4'],
    ['a trailing dot', '1.2.3.4.'],
    ['a leading dot', '.1.2.3.4'],
    ['an empty octet', '1..3.4'],
    ['arabic-indic digits', '١٢٧.0.0.1'],
    ['full-width digits', '１２７.0.0.1'],
    ['an exponent', '1e2.0.0.1'],
  ])('refuses %s (%j)', (_, raw) => {
    expectInvalid(raw)
  })
})

describe('rejects invalid IPv6 literals', () => {
  it.each([
    ['a zone id', 'fe80::1%eth0'],
    ['a numeric zone id', 'fe80::1%1'],
    ['brackets', '[::1]'],
    ['brackets with a port', '[::1]:443'],
    ['triple colon', ':::'],
    ['two double colons', '1::2::3'],
    ['a five-digit group', '2001:db8::12345'],
    ['nine groups', '1:2:3:4:5:6:7:8:9'],
    ['seven groups without ::', '1:2:3:4:5:6:7'],
    ['eight groups plus ::', '1:2:3:4::5:6:7:8'],
    ['a leading single colon', ':1::'],
    ['a trailing single colon', '1::2:'],
    ['a lone colon', ':'],
    ['a non-hex group', '2001:db8::g'],
    ['embedded IPv4 not at the end', '::1.2.3.4:1'],
    ['embedded IPv4 before ::', '1.2.3.4::'],
    ['embedded IPv4 with too many groups', '1:2:3:4:5:6:7:1.2.3.4'],
    ['embedded IPv4 with a leading zero', '::ffff:203.0.113.07'],
    ['embedded IPv4 shorthand', '::ffff:127.1'],
    ['a trailing space', '::1 '],
    ['a leading tab', '\t::1'],
    ['a hex prefix', '0x2001:db8::1'],
    ['full-width hex', '２００１:db8::1'],
  ])('refuses %s (%j)', (_, raw) => {
    expectInvalid(raw)
  })
})

describe('rejects garbage and transport syntax', () => {
  it.each([
    ['an empty string', ''],
    ['an IPv4 with a port', '1.2.3.4:80'],
    ['a comma list', '1.2.3.4, 5.6.7.8'],
    ['a comma list without space', '1.2.3.4,5.6.7.8'],
    ['an IPv6 list', '::1, ::2'],
    ['a hostname', 'localhost'],
    ['a word', 'unknown'],
    ['a URL', 'http://1.2.3.4/'],
    ['a NUL byte', '1.2.3.4\u0000'],
    ['a 46-char string', '1'.repeat(46)],
    ['a 10,000-char string', '1.2.3.4'.repeat(1430).slice(0, 10_000)],
    ['a 10,000-char colon string', ':'.repeat(10_000)],
  ])('refuses %s', (_, raw) => {
    expectInvalid(raw)
  })

  it('accepts the longest valid literal of 45 chars', () => {
    const raw = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'
    expect(raw).toHaveLength(45)
    expect(canonicalIp(raw)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')
  })

  it('refuses a non-string input at runtime', () => {
    expect(() => parseIp(null as unknown as string)).toThrow(ClientIpError)
  })

  it('uses a fixed message that does not echo the input', () => {
    const secret = '10.20.30.40, 198.51.100.77'
    expect(() => parseIp(secret)).toThrow(
      expect.objectContaining({
        code: 'ERR_CLIENT_IP_INVALID',
        message: expect.not.stringMatching(/10\.20|198\.51/),
      })
    )
  })
})
