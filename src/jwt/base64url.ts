/**
 * Strict base64url (RFC 4648 §5) without padding, as JWS compact serialisation requires
 * (RFC 7515 §2). Decoding refuses padding, `+`, `/`, whitespace, an impossible length and
 * non-zero trailing bits, so every byte string has exactly one accepted encoding.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const DECODE = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) {
  DECODE[ALPHABET.charCodeAt(i)] = i
}

/** Encodes bytes as unpadded base64url. @example encode(new Uint8Array([255])) // '_w' */
export function encode(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out +=
      ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return out
}

/** Encodes a string's UTF-8 bytes as unpadded base64url. */
export function encodeText(text: string): string {
  return encode(new TextEncoder().encode(text))
}

/**
 * Decodes canonical unpadded base64url, or returns undefined when the text is not exactly that.
 * @example decode('_w') // Uint8Array [255]; decode('_x') // undefined (trailing bits set)
 */
export function decode(text: string): Uint8Array | undefined {
  const tail = text.length % 4
  if (tail === 1) {
    return undefined
  }
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let o = 0
  let i = 0
  for (; i + 3 < text.length; i += 4) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12)
    const m = (sextet(text, i + 2) << 6) | sextet(text, i + 3)
    if (n < 0 || m < 0) {
      return undefined
    }
    const v = n | m
    out[o++] = v >> 16
    out[o++] = (v >> 8) & 255
    out[o++] = v & 255
  }
  if (tail === 0) {
    return out
  }
  return decodeTail(text, i, tail, out, o)
}

function decodeTail(
  text: string,
  i: number,
  tail: number,
  out: Uint8Array,
  o: number
): Uint8Array | undefined {
  const a = sextet(text, i)
  const b = sextet(text, i + 1)
  const c = tail === 3 ? sextet(text, i + 2) : 0
  if (a < 0 || b < 0 || c < 0) {
    return undefined
  }
  const v = (a << 18) | (b << 12) | (c << 6)
  const unusedBits = tail === 2 ? v & 0xffff : v & 0xff
  if (unusedBits !== 0) {
    return undefined
  }
  out[o++] = v >> 16
  if (tail === 3) {
    out[o] = (v >> 8) & 255
  }
  return out
}

function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i)
  return code < 128 ? DECODE[code]! : -1
}
