import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  bearer,
  claimsOf,
  freshIp,
  harness,
  problemOf,
  startSession,
  T0,
  type Harness,
  type Reply,
} from '../helpers/harness'
import { countRowWrites, rowWrites } from '../faults/bindings'

const IDLE = 1800
const MAX_AGE = 43_200
const TEN_MINUTES = 600

const iso = (seconds: number) => new Date(seconds * 1000).toISOString()

async function row(id: string) {
  return env.DB.prepare('SELECT * FROM sessions WHERE id = ?1')
    .bind(id)
    .first<{ last_seen_at: number; idle_expires_at: number; absolute_expires_at: number }>()
}

/** GET /v1/session at `at` with `token`; returns the status, body and the token sent back. */
async function getAt(h: Harness, at: number, ip: string, token: string) {
  h.now = at
  const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
  const body = response.status === 200 ? await response.json<Reply>() : undefined
  const problem = response.status === 200 ? undefined : await problemOf(response)
  return { status: response.status, body, problem, token: response.headers.get('Session-Token') }
}

beforeAll(countRowWrites)

describe('absolute deadline (MAX_AGE_SECONDS)', () => {
  it.each(['fast', 'strict'])(
    'REVOCATION=%s: a session slid every 10 minutes still ends at its absolute deadline',
    async (revocation) => {
      const h = harness({ REVOCATION: revocation })
      const ip = freshIp()
      const started = await startSession(h, ip)
      let token = started.token
      for (let at = T0 + TEN_MINUTES; at < T0 + MAX_AGE; at += TEN_MINUTES) {
        const reply = await getAt(h, at, ip, token)
        expect(reply.status).toBe(200)
        expect(reply.body!.session.expiresAt).toBe(iso(Math.min(at + IDLE, T0 + MAX_AGE)))
        expect(reply.body!.session.absoluteExpiresAt).toBe(iso(T0 + MAX_AGE))
        token = reply.body!.token
      }
      expect(claimsOf(token).exp).toBe(T0 + MAX_AGE)
      expect((await getAt(h, T0 + MAX_AGE - 1, ip, token)).status).toBe(200)

      const after = await getAt(h, T0 + MAX_AGE, ip, token)
      expect(after.status).toBe(401)
      expect(after.problem).toMatchObject({ code: 'session_expired' })
      const stored = await row(started.session.id)
      expect(stored!.idle_expires_at).toBe(T0 + MAX_AGE)
    }
  )

  it('never issues a token that outlives the absolute deadline', async () => {
    const h = harness({ MAX_AGE_SECONDS: '3600' })
    const ip = freshIp()
    const started = await startSession(h, ip)
    const midway = await getAt(h, T0 + 1500, ip, started.token)
    const reply = await getAt(h, T0 + 3000, ip, midway.token!)
    expect(claimsOf(reply.body!.token)).toMatchObject({ exp: T0 + 3600, max_exp: T0 + 3600 })
    expect(reply.body!.tokenExpiresAt).toBe(iso(T0 + 3600))
    expect((await row(started.session.id))!.idle_expires_at).toBe(T0 + 3600)
    const late = await getAt(h, T0 + 3600, ip, reply.token!)
    expect(late.problem).toMatchObject({ code: 'session_expired', status: 401 })
  })

  it('lets the same IP start a new session once the old one reached its absolute deadline', async () => {
    const h = harness({ MAX_AGE_SECONDS: '3600' })
    const ip = freshIp()
    const first = await startSession(h, ip)
    const midway = await getAt(h, T0 + 1500, ip, first.token)
    expect((await getAt(h, T0 + 3000, ip, midway.token!)).status).toBe(200)
    h.now = T0 + 3600
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip })
    expect(response.status).toBe(201)
    const second = await response.json<Reply>()
    expect(second.session.id).not.toBe(first.session.id)
    expect(second.session.absoluteExpiresAt).toBe(iso(T0 + 3600 + 3600))
  })

  it('shows the idle and the absolute deadline in the session JSON and in the token', async () => {
    const h = harness()
    const started = await startSession(h, freshIp())
    expect(started.session).toMatchObject({
      createdAt: iso(T0),
      lastSeenAt: iso(T0),
      expiresAt: iso(T0 + IDLE),
      absoluteExpiresAt: iso(T0 + MAX_AGE),
      idleTimeoutSeconds: IDLE,
    })
    expect(claimsOf(started.token)).toMatchObject({
      iat: T0,
      exp: T0 + IDLE,
      created_at: T0,
      max_exp: T0 + MAX_AGE,
    })
  })
})

describe('REFRESH_AFTER_SECONDS=0: every request slides, exact to the second', () => {
  it.each(['fast', 'strict'])(
    'REVOCATION=%s: each request in a new second writes the row once and re-issues the token',
    async (revocation) => {
      const h = harness({ REVOCATION: revocation, REFRESH_AFTER_SECONDS: '0' })
      const ip = freshIp()
      const started = await startSession(h, ip)
      let token = started.token
      const times = [T0 + 1, T0 + 2, T0 + 3, T0 + 65, T0 + 1000, T0 + 2799]
      for (const at of times) {
        const reply = await getAt(h, at, ip, token)
        expect(reply.status).toBe(200)
        expect(reply.body!.session.expiresAt).toBe(iso(at + IDLE))
        expect(claimsOf(reply.body!.token)).toMatchObject({ iat: at, exp: at + IDLE })
        expect(reply.body!.token).not.toBe(token)
        token = reply.body!.token
        expect(await row(started.session.id)).toMatchObject({
          last_seen_at: at,
          idle_expires_at: at + IDLE,
        })
      }
      expect(await rowWrites(started.session.id)).toBe(times.length)

      const last = times.at(-1)!
      expect((await getAt(h, last + IDLE, ip, token)).problem).toMatchObject({
        code: 'session_expired',
      })
    }
  )

  it('a second request in the same second writes nothing and keeps the token', async () => {
    const h = harness({ REFRESH_AFTER_SECONDS: '0' })
    const ip = freshIp()
    const started = await startSession(h, ip)
    const first = await getAt(h, T0 + 5, ip, started.token)
    const again = await getAt(h, T0 + 5, ip, first.body!.token)
    expect(again.body!.token).toBe(first.body!.token)
    expect(await rowWrites(started.session.id)).toBe(1)
  })
})

describe('REFRESH_AFTER_SECONDS=60: a busy session writes D1 at most once a minute', () => {
  const REFRESH = 60
  const EVERY = 5
  const LAST = T0 + 655

  it.each([
    ['fast', 'adopts each new token'],
    ['fast', 'keeps sending its first token'],
    ['strict', 'adopts each new token'],
    ['strict', 'keeps sending its first token'],
  ])('REVOCATION=%s, a client that %s', async (revocation, behaviour) => {
    const adopts = behaviour.startsWith('adopts')
    const h = harness({ REVOCATION: revocation, REFRESH_AFTER_SECONDS: String(REFRESH) })
    const ip = freshIp()
    const started = await startSession(h, ip)
    let token = started.token
    const issuedAt: number[] = []
    for (let at = T0 + EVERY; at <= LAST; at += EVERY) {
      const reply = await getAt(h, at, ip, token)
      expect(reply.status).toBe(200)
      const expiresAt = Date.parse(reply.body!.session.expiresAt) / 1000
      expect(expiresAt).toBeGreaterThan(at + IDLE - REFRESH)
      expect(expiresAt).toBeLessThanOrEqual(at + IDLE)
      if (reply.token !== token) {
        issuedAt.push(at)
      }
      if (adopts) {
        token = reply.token!
      }
    }

    expect(await rowWrites(started.session.id)).toBe(Math.floor((LAST - T0) / REFRESH))
    if (adopts) {
      expect(issuedAt).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => T0 + n * REFRESH))
    }
    const stored = await row(started.session.id)
    expect(stored).toMatchObject({ last_seen_at: T0 + 600, idle_expires_at: T0 + 600 + IDLE })
  })

  it('IDENTIFY_BY=ip, a plain client that never sends a token', async () => {
    const h = harness({ REFRESH_AFTER_SECONDS: String(REFRESH) })
    const ip = freshIp()
    const started = await startSession(h, ip)
    for (let at = T0 + EVERY; at <= LAST; at += EVERY) {
      h.now = at
      const reply = await h.fetch('/v1/session', { ip })
      expect(reply.status).toBe(200)
      const body = await reply.json<Reply>()
      expect(body.session.id).toBe(started.session.id)
      const expiresAt = Date.parse(body.session.expiresAt) / 1000
      expect(expiresAt).toBeGreaterThan(at + IDLE - REFRESH)
      expect(expiresAt).toBeLessThanOrEqual(at + IDLE)
    }

    expect(await rowWrites(started.session.id)).toBe(Math.floor((LAST - T0) / REFRESH))
  })

  it('ends the session within the interval of its last request, never later than idle after it', async () => {
    const h = harness({ REFRESH_AFTER_SECONDS: String(REFRESH) })
    const ip = freshIp()
    const started = await startSession(h, ip)
    let token = started.token
    for (let at = T0 + EVERY; at <= LAST; at += EVERY) {
      token = (await getAt(h, at, ip, token)).token!
    }
    const end = claimsOf(token).exp as number
    expect(end).toBe(T0 + 600 + IDLE)
    expect(end).toBeGreaterThan(LAST + IDLE - REFRESH)
    expect(end).toBeLessThanOrEqual(LAST + IDLE)
    const expired = await getAt(h, end, ip, token)
    expect(expired.problem).toMatchObject({ code: 'session_expired' })
  })

  it('re-issues no token and writes nothing before the interval has passed', async () => {
    const h = harness({ REFRESH_AFTER_SECONDS: String(REFRESH) })
    const ip = freshIp()
    const started = await startSession(h, ip)
    for (let at = T0 + 1; at < T0 + REFRESH; at += 7) {
      const reply = await getAt(h, at, ip, started.token)
      expect(reply.token).toBe(started.token)
      expect(reply.body!.tokenExpiresAt).toBe(iso(T0 + IDLE))
    }
    expect(await rowWrites(started.session.id)).toBe(0)
  })
})
