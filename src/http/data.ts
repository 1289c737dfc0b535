/**
 * Session data over HTTP: GET returns the object with an ETag of its version; PUT replaces it,
 * conditional on `If-Match` (RFC 9110 §13.1.1), so parallel writers never lose an update.
 */
import type { Context } from 'hono'
import { ServiceError } from '../errors'
import { readData, writeData } from '../sessions/service'
import type { AppEnv } from './context'

/** Largest session data body, 16 KiB: small enough to ride along with every session read. */
export const MAX_DATA_BYTES = 16 * 1024

/** Most bytes read and dropped from an over-long body before its stream is cancelled: 8 MiB. */
const MAX_DRAIN_BYTES = 8 * 1024 * 1024

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** GET /v1/session/data */
export async function getData(c: Context<AppEnv>): Promise<Response> {
  const { data, version } = await readData(c.var.deps, c.var.auth.session)
  c.header('ETag', etag(version))
  return c.json({ data, version })
}

/** PUT /v1/session/data */
export async function putData(c: Context<AppEnv>): Promise<Response> {
  const expected = expectedVersion(c.req.header('If-Match'))
  if (!/^application\/json\s*(;|$)/i.test(c.req.header('Content-Type') ?? '')) {
    throw new ServiceError('unsupported_media_type', 'data body is not application/json')
  }
  const json = parseObject(await readBody(c.req.raw))
  const { data, version } = await writeData(c.var.deps, c.var.auth.session, json, expected)
  c.header('ETag', etag(version))
  return c.json({ data, version })
}

function etag(version: number): string {
  return `"${version}"`
}

function expectedVersion(ifMatch: string | undefined): number {
  if (ifMatch === undefined || ifMatch.trim() === '*') {
    throw new ServiceError('precondition_required', 'data update without a version in If-Match')
  }
  const match = /^\s*"(0|[1-9]\d{0,14})"\s*$/.exec(ifMatch)
  if (match === null) {
    throw new ServiceError('precondition_failed', 'If-Match is not one current entity tag')
  }
  return Number(match[1])
}

/**
 * Reads a body of at most MAX_DATA_BYTES. A declared Content-Length over it is refused unread; a
 * streamed body is counted as it arrives, and one that grows past the bound is read on to its end
 * (up to MAX_DRAIN_BYTES more) before the 413, because an over-long chunked body left half-read
 * made wrangler dev's runtime fail the next request on the connection. hono's bodyLimit stops
 * reading at the bound, which is why this route reads for itself.
 */
async function readBody(request: Request): Promise<Uint8Array> {
  const declared = request.headers.get('Content-Length')
  if (declared !== null && Number(declared) > MAX_DATA_BYTES) {
    throw new ServiceError('payload_too_large', 'declared data body is over MAX_DATA_BYTES')
  }
  const reader = request.body?.getReader()
  const kept = new Uint8Array(MAX_DATA_BYTES)
  let total = 0
  while (reader !== undefined) {
    const { done, value } = await reader.read()
    if (done) {
      break
    }
    if (total + value.byteLength <= MAX_DATA_BYTES) {
      kept.set(value, total)
    }
    total += value.byteLength
    if (total > MAX_DATA_BYTES + MAX_DRAIN_BYTES) {
      await reader.cancel()
      break
    }
  }
  if (total > MAX_DATA_BYTES) {
    throw new ServiceError('payload_too_large', 'data body is over MAX_DATA_BYTES')
  }
  return kept.subarray(0, total)
}

/** Returns the body re-serialised from a parsed JSON object. */
function parseObject(body: Uint8Array): string {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(body))
  } catch {
    throw new ServiceError('invalid_body', 'data body is not UTF-8 JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ServiceError('invalid_body', 'data body is not a JSON object')
  }
  return JSON.stringify(value)
}
