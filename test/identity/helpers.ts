import { env } from 'cloudflare:workers'
import type { Harness } from '../helpers/harness'

/** A random hex group below `limit`, without leading zeros. */
function randomGroup(limit: number): string {
  return (crypto.getRandomValues(new Uint32Array(1))[0]! % limit).toString(16)
}

/**
 * A random IPv6 /48 in the documentation prefix 3fff::/20 (RFC 9637), as its first three groups,
 * e.g. '3fff:a2b:c3d4'; 28 random bits, so no two tests of a run meet.
 */
export function freshV6Prefix48(): string {
  return `3fff:${randomGroup(0x1000)}:${randomGroup(0x10000)}`
}

/**
 * A random IPv6 /64 in the documentation prefix 2001:db8::/32 (RFC 3849), as its first four
 * groups, e.g. '2001:db8:1a2b:7'; 32 random bits.
 */
export function freshV6Prefix64(): string {
  return `2001:db8:${randomGroup(0x10000)}:${randomGroup(0x10000)}`
}

export type SessionRow = {
  id: string
  client_key_hash: string
  client_ip: string | null
}

/** The stored row of a session, read straight from the local D1. */
export async function storedRow(id: string): Promise<SessionRow> {
  const row = await env.DB.prepare(
    'SELECT id, client_key_hash, client_ip FROM sessions WHERE id = ?1'
  )
    .bind(id)
    .first<SessionRow>()
  if (row === null) {
    throw new Error('no such session row')
  }
  return row
}

/** The session id and status of a POST /v1/sessions from `ip`, with any extra headers. */
export async function post(
  h: Harness,
  ip: string | null,
  headers: Record<string, string> = {}
): Promise<{ status: number; id: string | undefined; token: string | undefined; code?: string }> {
  const response = await h.fetch('/v1/sessions', { method: 'POST', ip, headers })
  return reply(response)
}

/** The session id and status of a GET /v1/session from `ip`, with any extra headers. */
export async function get(
  h: Harness,
  ip: string | null,
  headers: Record<string, string> = {}
): Promise<{ status: number; id: string | undefined; token: string | undefined; code?: string }> {
  const response = await h.fetch('/v1/session', { ip, headers })
  return reply(response)
}

async function reply(response: Response) {
  const body = await response.json<{
    session?: { id: string }
    token?: string
    code?: string
  }>()
  return { status: response.status, id: body.session?.id, token: body.token, code: body.code }
}
