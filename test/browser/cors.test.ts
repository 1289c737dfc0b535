import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { freshIp, harness, startSession } from '../helpers/harness'
import { cookie, failingAll } from './support'

const LISTED = 'https://app.example'
const SETTINGS = { ALLOWED_ORIGINS: `${LISTED},https://admin.example` }

function varyOf(response: Response): string[] {
  return (response.headers.get('Vary') ?? '').split(',').map((v) => v.trim().toLowerCase())
}

function listOf(response: Response, name: string): string[] {
  return (response.headers.get(name) ?? '').split(',').map((v) => v.trim().toLowerCase())
}

async function read(origin: string | undefined, settings: Partial<Env> = SETTINGS) {
  const h = harness(settings)
  const ip = freshIp()
  const { token } = await startSession(h, ip)
  const headers: Record<string, string> = cookie(token)
  if (origin !== undefined) {
    headers.Origin = origin
  }
  return h.fetch('/v1/session', { ip, headers })
}

function preflight(origin: string, method: string, requestHeaders: string) {
  const h = harness({
    ...SETTINGS,
    DB: failingAll(env.DB),
    REVOCATIONS: failingAll(env.REVOCATIONS),
  })
  return h.fetch('/v1/session/data', {
    method: 'OPTIONS',
    ip: freshIp(),
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': method,
      'Access-Control-Request-Headers': requestHeaders,
    },
  })
}

describe('CORS for a listed origin', () => {
  it('echoes the origin with credentials, exposes Session-Token and ETag, varies on Origin', async () => {
    const response = await read(LISTED)
    expect(response.status).toBe(200)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(LISTED)
    expect(response.headers.get('Access-Control-Allow-Credentials')).toBe('true')
    expect(listOf(response, 'Access-Control-Expose-Headers')).toEqual(
      expect.arrayContaining(['session-token', 'etag', 'retry-after'])
    )
    expect(varyOf(response)).toContain('origin')
  })

  it('echoes each listed origin, not only the first', async () => {
    const response = await read('https://admin.example')
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('https://admin.example')
  })

  it('lets the listed page read a problem too', async () => {
    const h = harness(SETTINGS)
    const response = await h.fetch('/v1/session', {
      ip: freshIp(),
      headers: { ...cookie('x.y.z'), Origin: LISTED },
    })
    expect(response.status).toBe(401)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(LISTED)
    expect(varyOf(response)).toContain('origin')
  })

  it('answers the preflight without storage: methods, Authorization, If-Match, max age', async () => {
    const response = await preflight(LISTED, 'PUT', 'authorization, if-match, content-type')
    expect(response.status).toBe(204)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe(LISTED)
    expect(response.headers.get('Access-Control-Allow-Credentials')).toBe('true')
    expect(listOf(response, 'Access-Control-Allow-Methods')).toEqual(
      expect.arrayContaining(['get', 'post', 'put', 'delete'])
    )
    expect(listOf(response, 'Access-Control-Allow-Headers')).toEqual(
      expect.arrayContaining(['authorization', 'if-match', 'content-type'])
    )
    expect(response.headers.get('Access-Control-Max-Age')).toBe('600')
    expect(varyOf(response)).toContain('origin')
    expect(response.headers.getAll('Set-Cookie')).toEqual([])
  })
})

function corsHeaders(response: Response): string[] {
  return [...response.headers.keys()].filter((name) => name.startsWith('access-control-'))
}

describe('Security: CORS for any other origin', () => {
  it.each([
    ['an unlisted origin', 'https://attacker.example'],
    ['a listed origin over http', 'http://app.example'],
    ['a look-alike of a listed origin', 'https://app.example.attacker.example'],
    ['an opaque origin', 'null'],
    ['a literal wildcard', '*'],
  ])('gives %s no CORS header at all', async (_, origin) => {
    const response = await read(origin)
    expect(corsHeaders(response)).toEqual([])
    expect(varyOf(response)).toContain('origin')
  })

  it('gives an unlisted preflight no CORS header at all, so the browser stops there', async () => {
    const response = await preflight('https://attacker.example', 'DELETE', 'content-type')
    expect(corsHeaders(response)).toEqual([])
  })

  it('gives a request without Origin no Access-Control-Allow-Origin, yet varies on Origin', async () => {
    const response = await read(undefined)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(varyOf(response)).toContain('origin')
  })

  it('never answers * with credentials: ALLOWED_ORIGINS=* is a configuration error', async () => {
    const h = harness({ ALLOWED_ORIGINS: '*' })
    const response = await h.fetch('/v1/session', { ip: freshIp(), headers: { Origin: LISTED } })
    expect(response.status).toBe(500)
    expect(await response.json()).toMatchObject({ code: 'configuration_error' })
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })

  it('gives nothing when ALLOWED_ORIGINS is empty, even for our own page origin', async () => {
    const response = await read('https://sessions.example', {})
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })

  it('does not open the page to other origins', async () => {
    const h = harness(SETTINGS)
    const response = await h.fetch('/', { headers: { Origin: LISTED } })
    expect(response.status).toBe(200)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })
})
