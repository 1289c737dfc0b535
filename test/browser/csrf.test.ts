import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { bearer, freshIp, harness, startSession, T0 } from '../helpers/harness'
import type { Harness } from '../helpers/harness'
import { cookie, failingAll, OWN_ORIGIN, storedState } from './support'

const ALLOWED = 'https://app.example'

type Write = {
  name: string
  send: (h: Harness, ip: string, headers: Record<string, string>) => Promise<Response>
  ok: number
}

const WRITES: Write[] = [
  {
    name: 'POST /v1/sessions',
    send: (h, ip, headers) => h.fetch('/v1/sessions', { method: 'POST', ip, headers }),
    ok: 200,
  },
  {
    name: 'PUT /v1/session/data',
    send: (h, ip, headers) =>
      h.fetch('/v1/session/data', {
        method: 'PUT',
        ip,
        headers: { ...headers, 'Content-Type': 'application/json', 'If-Match': '"1"' },
        body: '{"theme":"dark"}',
      }),
    ok: 200,
  },
  {
    name: 'DELETE /v1/session',
    send: (h, ip, headers) => h.fetch('/v1/session', { method: 'DELETE', ip, headers }),
    ok: 204,
  },
]

async function live(settings: Partial<Env> = {}) {
  const h = harness({ ALLOWED_ORIGINS: ALLOWED, ...settings })
  const ip = freshIp()
  const started = await startSession(h, ip)
  h.now += 60
  return { h, ip, token: started.token, id: started.session.id }
}

/** Asserts a refusal left the session as it was: not slid, not ended, data untouched. */
async function expectUntouched(id: string) {
  expect(await storedState(id)).toEqual({
    idle_expires_at: T0 + 1800,
    revoked_at: null,
    data: '{}',
  })
}

describe.each(WRITES)('Security: cross-site request forgery on $name', ({ send, ok }) => {
  it.each([
    ['another site', 'https://attacker.example'],
    ['a sibling subdomain (same site, other origin)', 'https://evil.sessions.example'],
    ['a suffix look-alike', 'https://sessions.example.attacker.example'],
    ['our host over http', 'http://sessions.example'],
    ['our host on another port', 'https://sessions.example:8443'],
    ['an opaque origin', 'null'],
  ])('refuses a cookie write from %s with 403 origin_rejected', async (_, origin) => {
    const { h, ip, token, id } = await live()
    const response = await send(h, ip, { ...cookie(token), Origin: origin })
    expect(response.status).toBe(403)
    expect(response.headers.get('Content-Type')).toBe('application/problem+json')
    expect(await response.json()).toMatchObject({ code: 'origin_rejected', status: 403 })
    expect(response.headers.getAll('Set-Cookie')).toEqual([])
    await expectUntouched(id)
  })

  it.each([
    ['our own origin', OWN_ORIGIN],
    ['an allow-listed origin', ALLOWED],
  ])('accepts a cookie write from %s', async (_, origin) => {
    const { h, ip, token } = await live()
    const response = await send(h, ip, { ...cookie(token), Origin: origin })
    expect(response.status).toBe(ok)
  })

  it('accepts a bearer write from any origin: a bearer token is never ambient', async () => {
    const { h, ip, token } = await live()
    const response = await send(h, ip, { ...bearer(token), Origin: 'https://attacker.example' })
    expect(response.status).toBe(ok)
  })

  it.each(['cross-site', 'same-site'])(
    'refuses a cookie write without Origin whose Sec-Fetch-Site is %s',
    async (site) => {
      const { h, ip, token, id } = await live()
      const response = await send(h, ip, { ...cookie(token), 'Sec-Fetch-Site': site })
      expect(response.status).toBe(403)
      expect(await response.json()).toMatchObject({ code: 'origin_rejected' })
      await expectUntouched(id)
    }
  )

  it.each(['same-origin', 'none'])(
    'accepts a cookie write without Origin whose Sec-Fetch-Site is %s',
    async (site) => {
      const { h, ip, token } = await live()
      const response = await send(h, ip, { ...cookie(token), 'Sec-Fetch-Site': site })
      expect(response.status).toBe(ok)
    }
  )

  it('accepts a cookie write with neither Origin nor Sec-Fetch-Site: not a browser', async () => {
    const { h, ip, token } = await live()
    const response = await send(h, ip, cookie(token))
    expect(response.status).toBe(ok)
  })

  it('refuses a write identified by IP alone (no token) from a foreign origin', async () => {
    const { h, ip, id } = await live()
    const response = await send(h, ip, { Origin: 'https://attacker.example' })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ code: 'origin_rejected' })
    await expectUntouched(id)
  })
})

describe('Security: cross-site request forgery, reads and starts', () => {
  it('lets a cookie read through from a foreign origin: GET changes nothing it could abuse', async () => {
    const { h, ip, token } = await live()
    const response = await h.fetch('/v1/session', {
      ip,
      headers: { ...cookie(token), Origin: 'https://attacker.example' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })

  it('refuses a foreign start before creating anything, so no session and no rate budget is spent', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const foreign = { Origin: 'https://attacker.example' }
    for (let i = 0; i < 12; i++) {
      const response = await h.fetch('/v1/sessions', { method: 'POST', ip, headers: foreign })
      expect(response.status).toBe(403)
    }
    const own = await h.fetch('/v1/sessions', {
      method: 'POST',
      ip,
      headers: { Origin: OWN_ORIGIN },
    })
    expect(own.status).toBe(201)
  })

  it('refuses a foreign start even when storage is down: the check comes first', async () => {
    const h = harness({ DB: failingAll(env.DB), REVOCATIONS: failingAll(env.REVOCATIONS) })
    const ip = freshIp()
    const foreign = { ...cookie('x.y.z'), Origin: 'https://attacker.example' }
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip, headers: foreign })
    expect(response.status).toBe(403)
    const own = await h.fetch('/v1/sessions', {
      method: 'POST',
      ip,
      headers: { Origin: OWN_ORIGIN },
    })
    expect(own.status).toBe(503)
  })

  it('matches allow-listed origins exactly, not by prefix or case', async () => {
    const { h, ip, token } = await live({ ALLOWED_ORIGINS: `${ALLOWED}, https://b.example` })
    for (const origin of [
      'https://app.example.attacker.example',
      'https://APP.example',
      'https://app.exampl',
    ]) {
      const response = await h.fetch('/v1/session', {
        method: 'DELETE',
        ip,
        headers: { ...cookie(token), Origin: origin },
      })
      expect(response.status).toBe(403)
    }
    const second = await h.fetch('/v1/session', {
      method: 'DELETE',
      ip,
      headers: { ...cookie(token), Origin: 'https://b.example' },
    })
    expect(second.status).toBe(204)
  })
})
