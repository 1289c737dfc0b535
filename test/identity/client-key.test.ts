import { afterEach, describe, expect, it, vi } from 'vitest'
import { freshIp, harness } from '../helpers/harness'
import { freshV6Prefix48, freshV6Prefix64, get, post } from './helpers'

afterEach(() => {
  vi.restoreAllMocks()
})

/** Two random hex groups, for addresses no other test uses. */
function freshGroups(): [string, string] {
  const group = () => (0x1000 + Math.floor(Math.random() * 0xefff)).toString(16)
  return [group(), group()]
}

/** The IPv4-mapped IPv6 address of a dotted IPv4, in its all-hex form ('::ffff:cb00:7107'). */
function mappedHex(ipv4: string): string {
  const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number]
  return `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
}

/** Sends every address in turn from a fresh harness; returns the session id each one got. */
async function sessionsOf(addresses: string[], settings: Partial<Env> = {}): Promise<string[]> {
  const h = harness(settings)
  const ids: string[] = []
  for (const ip of addresses) {
    const reply = await post(h, ip)
    expect([200, 201]).toContain(reply.status)
    ids.push(reply.id!)
  }
  return ids
}

describe('one client, many spellings of its address', () => {
  it('treats IPv6 zero compression and letter case as one client, to the last bit', async () => {
    const [x, y] = freshGroups()
    const ids = await sessionsOf(
      [
        `2001:DB8::${x.toUpperCase()}:${y}:0:1`,
        `2001:db8:0:0:${x}:${y.toUpperCase()}:0:1`,
        `2001:0db8:0000:0000:${x}:${y}:0000:0001`,
        `2001:db8::${x}:${y}:0:1`,
      ],
      { IPV6_PREFIX_BITS: '128' }
    )
    expect(new Set(ids).size).toBe(1)
  })

  it('treats an IPv4-mapped IPv6 address as its IPv4 client', async () => {
    const ip = freshIp()
    const ids = await sessionsOf([ip, `::ffff:${ip}`, `::FFFF:${ip}`, mappedHex(ip)])
    expect(new Set(ids).size).toBe(1)
  })

  it('keeps different IPv4 addresses different, mapped or not', async () => {
    const a = freshIp()
    const b = freshIp()
    const [first, second] = await sessionsOf([a, `::ffff:${b}`])
    expect(second).not.toBe(first)
  })

  it('does not treat a NAT64 address (64:ff9b::/96) as the IPv4 client it embeds', async () => {
    const ip = freshIp()
    const [v4, nat64] = await sessionsOf([ip, `64:ff9b::${ip}`], { IPV6_PREFIX_BITS: '128' })
    expect(nat64).not.toBe(v4)
  })
})

describe('IPv6 clients are keyed by their prefix (IPV6_PREFIX_BITS)', () => {
  it('makes two addresses in one /64 one client by default', async () => {
    const net = freshV6Prefix64()
    const ids = await sessionsOf([`${net}::1`, `${net}:a1b2:c3d4:e5f6:789`, `${net}:ffff::`])
    expect(new Set(ids).size).toBe(1)
  })

  it('keeps neighbouring /64s apart by default', async () => {
    const net = freshV6Prefix48()
    const ids = await sessionsOf([`${net}:1::1`, `${net}:2::1`])
    expect(new Set(ids).size).toBe(2)
  })

  it('merges two /64s of one /48 with IPV6_PREFIX_BITS=48, and keeps /48s apart', async () => {
    const net = freshV6Prefix48()
    const other = freshV6Prefix48()
    const ids = await sessionsOf([`${net}:1::1`, `${net}:ffff::9`, `${other}:1::1`], {
      IPV6_PREFIX_BITS: '48',
    })
    expect(ids[1]).toBe(ids[0])
    expect(ids[2]).not.toBe(ids[0])
  })

  it('splits one /64 into single addresses with IPV6_PREFIX_BITS=128', async () => {
    const net = freshV6Prefix64()
    const ids = await sessionsOf([`${net}::1`, `${net}::2`], { IPV6_PREFIX_BITS: '128' })
    expect(new Set(ids).size).toBe(2)
  })

  it('merges two /48s of one /32 with the smallest prefix, IPV6_PREFIX_BITS=32', async () => {
    const net32 = freshV6Prefix48().split(':').slice(0, 2).join(':')
    const ids = await sessionsOf([`${net32}:1::1`, `${net32}:ffff::1`], { IPV6_PREFIX_BITS: '32' })
    expect(new Set(ids).size).toBe(1)
  })

  it.each(['31', '129', '0', '64.5', '0x40', '-64', 'sixty-four'])(
    'answers 500 configuration_error naming the setting for IPV6_PREFIX_BITS=%j',
    async (bits) => {
      const logged = vi.spyOn(console, 'log').mockImplementation(() => {})
      const h = harness({ IPV6_PREFIX_BITS: bits })
      const response = await h.fetch('/v1/sessions', { method: 'POST', ip: freshIp() })
      expect(response.status).toBe(500)
      const body = await response.text()
      expect(JSON.parse(body)).toMatchObject({ code: 'configuration_error' })
      expect(body).not.toContain('IPV6_PREFIX_BITS')
      const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)))
      expect(lines).toContainEqual(
        expect.objectContaining({ event: 'configuration_error', setting: 'IPV6_PREFIX_BITS' })
      )
    }
  )
})

describe('CF-Connecting-IP must be exactly one IP address', () => {
  const refused: [string, string][] = [
    ['a zone id', 'fe80::1%eth0'],
    ['an encoded zone id', 'fe80::1%25eth0'],
    ['brackets', '[2001:db8::1]'],
    ['an IPv4 port', '203.0.113.7:443'],
    ['an IPv6 port', '[2001:db8::1]:443'],
    ['a comma list', '203.0.113.1, 203.0.113.2'],
    ['a space list', '203.0.113.1 203.0.113.2'],
    ['an IPv6 list', '2001:db8::1,2001:db8::2'],
    ['a CIDR block', '203.0.113.0/24'],
    ['leading zeros', '203.0.113.07'],
    ['an octal octet', '0313.0.113.7'],
    ['a hex octet', '0xcb.0.113.7'],
    ['a short IPv4', '127.1'],
    ['an integer address', '3405803783'],
    ['an octet over 255', '256.0.0.1'],
    ['a trailing dot', '203.0.113.7.'],
    ['nine IPv6 groups', '1:2:3:4:5:6:7:8:9'],
    ['two ::', '2001::db8::1'],
    ['a non-hex group', '2001:db8::g'],
    ['a host name', 'localhost'],
    ['the word unknown', 'unknown'],
    ['garbage', 'not-an-ip'],
    ['an empty value', ''],
    ['a very long value', `${'1'.repeat(200)}.0.0.1`],
  ]

  it.each(refused)('answers 400 client_ip_invalid for %s on start', async (_, ip) => {
    const response = await harness().fetch('/v1/sessions', { method: 'POST', ip })
    expect(response.status).toBe(400)
    const body = await response.text()
    expect(JSON.parse(body)).toMatchObject({ code: 'client_ip_invalid', status: 400 })
    if (ip.length > 0) {
      expect(body).not.toContain(ip)
    }
  })

  it.each(refused)('answers 400 client_ip_invalid for %s on GET with a token', async (_, ip) => {
    const h = harness()
    const { token } = await post(h, freshIp())
    expect(await get(h, ip, { Authorization: `Bearer ${token}` })).toMatchObject({
      status: 400,
      code: 'client_ip_invalid',
    })
  })

  it('answers 400 client_ip_missing without the header', async () => {
    const h = harness()
    expect(await get(h, null)).toMatchObject({
      status: 400,
      code: 'client_ip_missing',
    })
  })
})
