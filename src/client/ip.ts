/**
 * Stable code carried by every {@link ClientIpError}.
 *
 * @example
 * const code: ClientIpErrorCode = 'ERR_CLIENT_IP_INVALID'
 */
export type ClientIpErrorCode = 'ERR_CLIENT_IP_INVALID'

/**
 * Raised when a client IP literal is not acceptable. The message never echoes the input.
 *
 * @example
 * try {
 *   parseIp('127.1')
 * } catch (err) {
 *   if (err instanceof ClientIpError) console.log(err.code) // 'ERR_CLIENT_IP_INVALID'
 * }
 */
export class ClientIpError extends Error {
  readonly code: ClientIpErrorCode = 'ERR_CLIENT_IP_INVALID'
  override readonly name = 'ClientIpError'

  constructor() {
    super('Client IP address is not a valid IPv4 or IPv6 literal')
  }
}

/**
 * A parsed address in network byte order: 4 bytes for IPv4, 16 bytes for IPv6.
 *
 * @example
 * const ip: ParsedIp = { version: 4, bytes: new Uint8Array([203, 0, 113, 7]) }
 */
export type ParsedIp = { version: 4; bytes: Uint8Array } | { version: 6; bytes: Uint8Array }

const MAX_INPUT_LENGTH = 45
const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/
const IPV6_GROUP_COUNT = 8

function parseIpv4Bytes(text: string): Uint8Array {
  const parts = text.split('.')
  if (parts.length !== 4) throw new ClientIpError()
  return Uint8Array.from(parts, parseOctet)
}

function parseOctet(part: string): number {
  if (!IPV4_OCTET.test(part)) throw new ClientIpError()
  const value = Number(part)
  if (value > 255) throw new ClientIpError()
  return value
}

function parseGroupList(text: string, allowTrailingIpv4: boolean): number[] {
  if (text === '') return []
  const parts = text.split(':')
  const last = parts[parts.length - 1]
  const tail: number[] = []
  if (allowTrailingIpv4 && last.includes('.')) {
    const [a, b, c, d] = parseIpv4Bytes(last)
    tail.push((a << 8) | b, (c << 8) | d)
    parts.pop()
  }
  return [...parts.map(parseGroup), ...tail]
}

function parseGroup(part: string): number {
  if (!IPV6_GROUP.test(part)) throw new ClientIpError()
  return parseInt(part, 16)
}

function expandGroups(text: string): number[] {
  const halves = text.split('::')
  if (halves.length > 2) throw new ClientIpError()
  if (halves.length === 1) {
    const groups = parseGroupList(text, true)
    if (groups.length !== IPV6_GROUP_COUNT) throw new ClientIpError()
    return groups
  }
  const head = parseGroupList(halves[0], false)
  const tail = parseGroupList(halves[1], true)
  const missing = IPV6_GROUP_COUNT - head.length - tail.length
  if (missing < 1) throw new ClientIpError()
  return [...head, ...new Array<number>(missing).fill(0), ...tail]
}

function parseIpv6Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16)
  expandGroups(text).forEach((group, i) => {
    bytes[i * 2] = group >> 8
    bytes[i * 2 + 1] = group & 0xff
  })
  return bytes
}

/**
 * Strictly parses one IP address literal as sent in CF-Connecting-IP. Throws ClientIpError.
 *
 * @example
 * parseIp('203.0.113.7') // { version: 4, bytes: Uint8Array [203, 0, 113, 7] }
 */
export function parseIp(raw: string): ParsedIp {
  if (typeof raw !== 'string' || raw.length > MAX_INPUT_LENGTH) throw new ClientIpError()
  if (raw.includes(':')) return { version: 6, bytes: parseIpv6Bytes(raw) }
  return { version: 4, bytes: parseIpv4Bytes(raw) }
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
}

function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.')
}

function toGroups(bytes: Uint8Array): number[] {
  return Array.from({ length: IPV6_GROUP_COUNT }, (_, i) => (bytes[i * 2] << 8) | bytes[i * 2 + 1])
}

function longestZeroRun(groups: number[]): { start: number; length: number } {
  let best = { start: -1, length: 0 }
  let start = -1
  for (let i = 0; i < groups.length; i++) {
    if (groups[i] !== 0) {
      start = -1
      continue
    }
    if (start === -1) start = i
    if (i - start + 1 > best.length) best = { start, length: i - start + 1 }
  }
  return best
}

function formatIpv6(bytes: Uint8Array): string {
  const groups = toGroups(bytes)
  const text = groups.map((group) => group.toString(16))
  const run = longestZeroRun(groups)
  if (run.length < 2) return text.join(':')
  const head = text.slice(0, run.start).join(':')
  const tail = text.slice(run.start + run.length).join(':')
  return `${head}::${tail}`
}

function ipv4View(ip: ParsedIp): Uint8Array | undefined {
  if (ip.version === 4) return ip.bytes
  if (isIpv4Mapped(ip.bytes)) return ip.bytes.subarray(12)
  return undefined
}

/**
 * Canonical text: IPv4 dotted decimal; IPv6 in RFC 5952 form. IPv4-mapped IPv6 is returned as
 * its IPv4 text.
 *
 * @example
 * canonicalIp('2001:DB8:0:0:0:0:0:1') // '2001:db8::1'
 */
export function canonicalIp(raw: string): string {
  const ip = parseIp(raw)
  const v4 = ipv4View(ip)
  return v4 ? formatIpv4(v4) : formatIpv6(ip.bytes)
}

function maskBytes(bytes: Uint8Array, prefixBits: number): Uint8Array {
  return bytes.map((byte, i) => {
    const kept = Math.min(8, Math.max(0, prefixBits - i * 8))
    return byte & ((0xff << (8 - kept)) & 0xff)
  })
}

function assertPrefixBits(prefixBits: number): void {
  if (Number.isInteger(prefixBits) && prefixBits >= 32 && prefixBits <= 128) return
  throw new RangeError('prefixBits must be an integer from 32 to 128')
}

/**
 * The identity of a client: 'ipv4:<address>' for IPv4 (and IPv4-mapped IPv6), or
 * 'ipv6:<address masked to prefixBits>/<prefixBits>' for IPv6. Throws RangeError when
 * prefixBits is not an integer in 32..128, and ClientIpError when raw is not a valid literal.
 *
 * @example
 * clientKey('2001:db8::1:2:3:4', 64) // 'ipv6:2001:db8::/64'
 */
export function clientKey(raw: string, prefixBits: number): string {
  assertPrefixBits(prefixBits)
  const ip = parseIp(raw)
  const v4 = ipv4View(ip)
  if (v4) return `ipv4:${formatIpv4(v4)}`
  return `ipv6:${formatIpv6(maskBytes(ip.bytes, prefixBits))}/${prefixBits}`
}
