/**
 * JSON as JOSE needs it: UTF-8 bytes that must decode strictly, a top-level object, and no
 * member name twice (RFC 7515 §5.2 lets us reject duplicates; we do, so no parser downstream can
 * read a different value than we checked).
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** Parses UTF-8 JSON bytes into a plain object, or returns undefined. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  let text: string
  let value: unknown
  try {
    text = utf8.decode(bytes)
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return undefined
  }
  return hasDuplicateMembers(text, value) ? undefined : (value as Record<string, unknown>)
}

/**
 * Whether valid JSON text of an object names a member twice: the parsed object keeps one own
 * property per distinct name (JSON.parse defines even `__proto__` as data), so a repeat shows as
 * more top-level members in the text than properties in the object. Counting the colons at depth
 * one outside strings costs one pass and no allocation, a third of comparing the names.
 */
function hasDuplicateMembers(text: string, value: object): boolean {
  let depth = 0
  let members = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (ch === QUOTE) {
      i = endOfString(text, i)
    } else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) {
      depth++
    } else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
      depth--
    } else if (ch === COLON && depth === 1) {
      members++
    }
  }
  return members !== Object.keys(value).length
}

function endOfString(text: string, start: number): number {
  let i = start + 1
  while (text.charCodeAt(i) !== QUOTE) {
    i += text.charCodeAt(i) === BACKSLASH ? 2 : 1
  }
  return i
}
