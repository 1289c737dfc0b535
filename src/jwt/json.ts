/**
 * JSON as JOSE needs it: UTF-8 bytes that must decode strictly, a top-level object, and no
 * member name twice (RFC 7515 §5.2 lets us reject duplicates; we do, so no parser downstream can
 * read a different value than we checked).
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

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
  return hasDuplicateMembers(text) ? undefined : (value as Record<string, unknown>)
}

/** Scans already-valid JSON text for a member name repeated in the top-level object. */
function hasDuplicateMembers(text: string): boolean {
  const seen = new Set<string>()
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '"') {
      const end = endOfString(text, i)
      if (depth === 1 && nextNonSpace(text, end + 1) === ':') {
        const name = JSON.parse(text.slice(i, end + 1)) as string
        if (seen.has(name)) {
          return true
        }
        seen.add(name)
      }
      i = end
    } else if (ch === '{' || ch === '[') {
      depth++
    } else if (ch === '}' || ch === ']') {
      depth--
    }
  }
  return false
}

function endOfString(text: string, start: number): number {
  let i = start + 1
  while (text[i] !== '"') {
    i += text[i] === '\\' ? 2 : 1
  }
  return i
}

function nextNonSpace(text: string, from: number): string | undefined {
  let i = from
  while (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t') {
    i++
  }
  return text[i]
}
