import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { encode } from '../../src/jwt/base64url'
import { bearer, freshIp, harness } from '../helpers/harness'
import { freshV6Prefix64, post, storedRow } from './helpers'

/** A second secret of the minimum length. */
const OTHER_SECRET = 'identity-test-secret-b-0123456789abcdef'

afterEach(() => {
  vi.restoreAllMocks()
})

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

/** SHA-256 of `text` in every encoding a careless store might use. */
async function unkeyedHashes(text: string): Promise<string[]> {
  const bytes = await sha256(text)
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return [encode(bytes), hex, hex.toUpperCase(), btoa(String.fromCharCode(...bytes))]
}

describe('Privacy: D1 holds a keyed hash of the client key, never the address', () => {
  it('stores neither the IP, nor the client key, nor an unkeyed SHA-256 of either', async () => {
    const ip = freshIp()
    const { id } = await post(harness(), ip)
    const row = await env.DB.prepare('SELECT * FROM sessions WHERE id = ?1').bind(id).first()
    const stored = (await storedRow(id!)).client_key_hash
    expect(stored).toMatch(/^[\w-]{43}$/)
    expect(row!.client_ip).toBeNull()
    const plain = [...(await unkeyedHashes(`ipv4:${ip}`)), ...(await unkeyedHashes(ip))]
    expect(plain).not.toContain(stored)
    const text = JSON.stringify(row)
    for (const leak of [ip, `ipv4:${ip}`, ...plain]) {
      expect(text).not.toContain(leak)
    }
  })

  it('stores an IPv6 client without its prefix', async () => {
    const net = freshV6Prefix64()
    const { id } = await post(harness(), `${net}::1`)
    const row = await env.DB.prepare('SELECT * FROM sessions WHERE id = ?1').bind(id).first()
    expect(JSON.stringify(row)).not.toContain(net)
    expect(await unkeyedHashes(`ipv6:${net}::/64`)).not.toContain(row!.client_key_hash)
  })

  it('gives one client key one hash under one secret, and another under another', async () => {
    const ip = freshIp()
    const a = await post(harness({ IDENTIFY_BY: 'token' }), ip)
    const b = await post(harness({ IDENTIFY_BY: 'token' }), ip)
    const other = await post(harness({ IDENTIFY_BY: 'token', SESSION_SECRET: OTHER_SECRET }), ip)
    const hashOf = async (id: string | undefined) => (await storedRow(id!)).client_key_hash
    expect(await hashOf(b.id)).toBe(await hashOf(a.id))
    expect(await hashOf(other.id)).not.toBe(await hashOf(a.id))
  })

  it('does not find a session across a secret change without the previous secret', async () => {
    const ip = freshIp()
    const first = await post(harness(), ip)
    const next = await post(harness({ SESSION_SECRET: OTHER_SECRET }), ip)
    expect(next.status).toBe(201)
    expect(next.id).not.toBe(first.id)
  })
})

describe('Privacy: STORE_CLIENT_IP', () => {
  it.each([
    ['IPv4', (ip: string) => ip, (ip: string) => ip],
    ['IPv4-mapped IPv6', (ip: string) => `::FFFF:${ip}`, (ip: string) => ip],
  ])('stores the canonical address of %s when set to true', async (_, sent, canonical) => {
    const ip = freshIp()
    const { id } = await post(harness({ STORE_CLIENT_IP: 'true', IDENTIFY_BY: 'token' }), sent(ip))
    expect((await storedRow(id!)).client_ip).toBe(canonical(ip))
  })

  it('stores a whole IPv6 address (not its prefix) in RFC 5952 form when set to true', async () => {
    const group = (0xa000 + Math.floor(Math.random() * 0xfff)).toString(16)
    const sent = `2001:0DB8:0000:0000:0000:0000:${group.toUpperCase()}:0001`
    const { id } = await post(harness({ STORE_CLIENT_IP: 'true', IDENTIFY_BY: 'token' }), sent)
    expect((await storedRow(id!)).client_ip).toBe(`2001:db8::${group}:1`)
  })

  it.each([['false'], [undefined]])('stores no address when set to %j', async (value) => {
    const settings =
      value === undefined ? { STORE_CLIENT_IP: undefined } : { STORE_CLIENT_IP: value }
    const { id } = await post(harness(settings), freshIp())
    expect((await storedRow(id!)).client_ip).toBeNull()
  })

  it('refuses a value other than true or false with configuration_error', async () => {
    const logged = vi.spyOn(console, 'log').mockImplementation(() => {})
    const response = await harness({ STORE_CLIENT_IP: 'yes' }).fetch('/v1/sessions', {
      method: 'POST',
      ip: freshIp(),
    })
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ code: 'configuration_error' })
    const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)))
    expect(lines).toContainEqual(expect.objectContaining({ setting: 'STORE_CLIENT_IP' }))
  })
})

describe('Privacy: no raw address in responses or log lines', () => {
  it('keeps the address out of every log line and response of a busy exchange', async () => {
    const logged: string[] = []
    for (const channel of ['log', 'warn', 'error', 'info'] as const) {
      vi.spyOn(console, channel).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(' '))
      })
    }
    const ip = freshIp()
    const other = freshIp()
    const h = harness()
    const bodies: string[] = []
    const send = async (path: string, init: RequestInit & { ip: string }) => {
      const response = await h.fetch(path, init)
      bodies.push(await response.text(), JSON.stringify([...response.headers]))
    }
    const { token } = await post(h, ip)
    await send('/v1/sessions', { method: 'POST', ip })
    await send('/v1/session', { ip: other, headers: bearer(token!) })
    await send('/v1/session', { ip: other })
    await send('/v1/session', { ip: `${ip}, ${other}` })
    await send('/v1/session', { ip: `[::ffff:${ip}]:443` })
    await send('/v1/session', { method: 'DELETE', ip, headers: bearer(token!) })
    await send('/v1/session', { ip, headers: bearer(token!) })
    expect(logged.length).toBeGreaterThan(0)
    for (const text of [...logged, ...bodies]) {
      expect(text).not.toContain(ip)
      expect(text).not.toContain(other)
    }
  })
})
