/**
 * Session data over HTTP: GET returns the object with an ETag of its version; PUT replaces it,
 * conditional on `If-Match` (RFC 9110 §13.1.1), so parallel writers never lose an update.
 */
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { ServiceError } from '../errors'
import { readData, writeData } from '../sessions/service'
import type { AppEnv } from './context'
import { problem } from './problem'

/** Largest session data body, 16 KiB: small enough to ride along with every session read. */
export const MAX_DATA_BYTES = 16 * 1024

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** GET /v1/session/data */
export async function getData(c: Context<AppEnv>): Promise<Response> {
  const { data, version } = await readData(c.var.deps, c.var.auth.session)
  c.header('ETag', etag(version))
  return c.json({ data, version })
}

/** Refuses bodies over MAX_DATA_BYTES while they stream, whatever Content-Length says. */
export const dataBodyLimit = bodyLimit({
  maxSize: MAX_DATA_BYTES,
  onError: (c) => problem(c, 'payload_too_large'),
})

/** PUT /v1/session/data */
export async function putData(c: Context<AppEnv>): Promise<Response> {
  const expected = expectedVersion(c.req.header('If-Match'))
  if (!/^application\/json\s*(;|$)/i.test(c.req.header('Content-Type') ?? '')) {
    throw new ServiceError('unsupported_media_type', 'data body is not application/json')
  }
  const body = await c.req.arrayBuffer()
  if (body.byteLength > MAX_DATA_BYTES) {
    throw new ServiceError('payload_too_large', 'data body is over MAX_DATA_BYTES')
  }
  const json = parseObject(body)
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
  const match = /^\s*"(\d{1,15})"\s*$/.exec(ifMatch)
  if (match === null) {
    throw new ServiceError('precondition_failed', 'If-Match is not one current entity tag')
  }
  return Number(match[1])
}

/** Returns the body re-serialised from a parsed JSON object. */
function parseObject(body: ArrayBuffer): string {
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
