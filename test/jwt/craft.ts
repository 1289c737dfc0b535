/**
 * Token crafting for tests: sign any header and payload text with any secret, so a hostile token
 * can be validly signed and fail only for the reason under test.
 */
import { encode, encodeText } from '../../src/jwt/base64url'

const bytes = new TextEncoder()

/** The base64url alphabet in sextet order. */
export const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** JSON text of a value; a string is taken as JSON text already, so it may be anything. */
export type Json = Record<string, unknown> | string

function jsonText(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export type Hash = 'SHA-256' | 'SHA-384' | 'SHA-512'

/** HMAC of `input`'s UTF-8 bytes under a secret's UTF-8 bytes (or raw key bytes). */
export async function hmac(
  secret: string | Uint8Array,
  input: string,
  hash: Hash = 'SHA-256'
): Promise<Uint8Array> {
  const raw = typeof secret === 'string' ? bytes.encode(secret) : secret
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, bytes.encode(input)))
}

/** Signs `header.payload` exactly as given, encoded parts and all. */
export async function signEncoded(
  secret: string | Uint8Array,
  header: string,
  payload: string,
  hash: Hash = 'SHA-256'
): Promise<string> {
  const input = `${header}.${payload}`
  return `${input}.${encode(await hmac(secret, input, hash))}`
}

/** Encodes a header and payload (objects or raw JSON text) and signs them. */
export async function craft(
  secret: string | Uint8Array,
  header: Json,
  payload: Json,
  hash: Hash = 'SHA-256'
): Promise<string> {
  return signEncoded(secret, encodeText(jsonText(header)), encodeText(jsonText(payload)), hash)
}

/** Encodes raw bytes as a part, for invalid UTF-8. */
export function part(raw: number[]): string {
  return encode(new Uint8Array(raw))
}

/** Decodes a token's header without checking it. */
export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(decodeLoose(token.split('.')[0]!)) as Record<string, unknown>
}

function decodeLoose(text: string): string {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))
}

/** Standard base64 of a base64url part, with `+`, `/` and padding. */
export function toStandardBase64(partText: string): string {
  const padded = partText + '='.repeat((4 - (partText.length % 4)) % 4)
  return padded.replaceAll('-', '+').replaceAll('_', '/')
}

/**
 * The last character of an encoded part, changed so that only its unused low bits differ: a
 * lenient decoder reads the same bytes, a canonical one refuses it. `bits` is 1, 2 or 3.
 */
export function withTrailingBits(partText: string, bits: number): string {
  const last = ALPHABET.indexOf(partText.at(-1)!)
  return partText.slice(0, -1) + ALPHABET[last | bits]!
}
