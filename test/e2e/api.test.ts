/**
 * The main job on real input: the real `npm start` server (wrangler dev, local D1 and KV) driven
 * over HTTP exactly as a user's client would, start → use → end → rejected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type Server } from './helpers/server'

const PORT = 8801

let server: Server

beforeAll(async () => {
  server = await startServer({ port: PORT })
})

afterAll(async () => {
  await server?.stop()
})

type Reply = { session: { id: string; expiresAt: string }; token: string; tokenExpiresAt: string }

describe('npm start serves the session API', () => {
  it('answers /healthz', async () => {
    const response = await fetch(`${server.url}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })

  it('starts, uses, ends and then refuses a session', async () => {
    const headers = { 'CF-Connecting-IP': '203.0.113.77' }
    const started = await fetch(`${server.url}/v1/sessions`, { method: 'POST', headers })
    expect(started.status).toBe(201)
    const first = (await started.json()) as Reply
    expect(started.headers.get('set-cookie')).toContain('__Host-session=')

    const resumed = await fetch(`${server.url}/v1/sessions`, { method: 'POST', headers })
    expect(resumed.status).toBe(200)
    expect(((await resumed.json()) as Reply).session.id).toBe(first.session.id)

    const auth = { ...headers, Authorization: `Bearer ${first.token}` }
    const used = await fetch(`${server.url}/v1/session`, { headers: auth })
    expect(used.status).toBe(200)
    const usedBody = (await used.json()) as Reply
    expect(usedBody.session.id).toBe(first.session.id)
    expect(used.headers.get('session-token')).toBe(usedBody.token)
    expect(Date.parse(usedBody.session.expiresAt)).toBeGreaterThanOrEqual(
      Date.parse(first.session.expiresAt)
    )

    const ended = await fetch(`${server.url}/v1/session`, { method: 'DELETE', headers: auth })
    expect(ended.status).toBe(204)

    for (const token of [first.token, usedBody.token]) {
      const refused = await fetch(`${server.url}/v1/session`, {
        headers: { ...headers, Authorization: `Bearer ${token}` },
      })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('content-type')).toBe('application/problem+json')
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"')
      expect(await refused.json()).toMatchObject({ code: 'session_revoked' })
    }

    const again = await fetch(`${server.url}/v1/sessions`, { method: 'POST', headers })
    expect(again.status).toBe(201)
    expect(((await again.json()) as Reply).session.id).not.toBe(first.session.id)
  })

  it('recognises a plain client without CF-Connecting-IP of its own: wrangler fills it in', async () => {
    const first = await fetch(`${server.url}/v1/sessions`, { method: 'POST' })
    expect([200, 201]).toContain(first.status)
    const session = ((await first.json()) as Reply).session.id
    const again = await fetch(`${server.url}/v1/session`)
    expect(again.status).toBe(200)
    expect(((await again.json()) as Reply).session.id).toBe(session)
  })

  it('answers hostile input with problem+json, never a 5xx', async () => {
    const cases: Array<[string, RequestInit]> = [
      ['/v1/session', { headers: { Authorization: 'Bearer not.a.token' } }],
      ['/v1/session', { headers: { Authorization: `Bearer ${'a'.repeat(100_000)}` } }],
      ['/v1/sessions', { method: 'POST', headers: { 'CF-Connecting-IP': '999.1.1.1' } }],
      [
        '/v1/session/data',
        { method: 'PUT', body: '{', headers: { 'Content-Type': 'application/json' } },
      ],
      ['/v1/nothing', {}],
    ]
    for (const [path, init] of cases) {
      const response = await fetch(`${server.url}${path}`, init)
      expect(response.status).toBeGreaterThanOrEqual(400)
      expect(response.status).toBeLessThan(500)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
    }
  })
})
