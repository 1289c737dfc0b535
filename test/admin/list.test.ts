import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { loadKeyRing } from '../../src/jwt/keys'
import { Client } from '../../src/sessions/service'
import { bearer, freshIp, harness, startSession, T0, type Harness } from '../helpers/harness'
import { clearSessions, newId, seedSessions, type Seed } from './seed'

const ADMIN = bearer(env.ADMIN_TOKEN!)
const IDLE = 1800
const MAX_AGE = 43_200

type Item = {
  id: string
  state: string
  createdAt: string
  lastSeenAt: string
  expiresAt: string
  absoluteExpiresAt: string
  revokedAt: string | null
  dataVersion: number
  clientIp?: string
}
type Listing = { sessions: Item[]; nextCursor: string | null }

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

async function list(h: Harness, query = ''): Promise<Listing> {
  const response = await h.fetch(`/v1/admin/sessions${query}`, { headers: ADMIN })
  expect(response.status).toBe(200)
  return response.json()
}

/** Follows nextCursor to the end and returns every id in the order served. */
async function listAll(h: Harness, query: string, from: string | null = null): Promise<string[]> {
  const ids: string[] = []
  let cursor = from
  do {
    const suffix: string = cursor === null ? '' : `&cursor=${cursor}`
    const page = await list(h, `?${query}${suffix}`)
    ids.push(...page.sessions.map((s) => s.id))
    cursor = page.nextCursor
  } while (cursor !== null)
  return ids
}

/** The client hash the app stores for `ip` under the test secret. */
async function hashOf(ip: string, secret = env.SESSION_SECRET!): Promise<string> {
  const ring = await loadKeyRing(secret)
  return new Client(ip, 64).hash(ring.current)
}

/** Live rows, newest first order computed here: created_at desc, then id desc. */
function liveSeeds(count: number, createdAt: (i: number) => number, hash?: string): Seed[] {
  return Array.from({ length: count }, (_, i) => ({
    createdAt: createdAt(i),
    idleExpiresAt: T0 + IDLE,
    absoluteExpiresAt: T0 + MAX_AGE,
    clientKeyHash: hash,
  }))
}

function newestFirst(rows: Array<{ id: string; createdAt: number }>): string[] {
  return [...rows]
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((row) => row.id)
}

beforeEach(async () => {
  await clearSessions(env.DB)
})

describe('GET /v1/admin/sessions', () => {
  it('lists a session with its times, state and data version, never its client hash', async () => {
    const h = harness()
    const ip = freshIp()
    const { session } = await startSession(h, ip)
    h.now = T0 + 60
    const page = await list(h)
    expect(page).toEqual({
      sessions: [
        {
          id: session.id,
          state: 'live',
          createdAt: iso(T0),
          lastSeenAt: iso(T0),
          expiresAt: iso(T0 + IDLE),
          absoluteExpiresAt: iso(T0 + MAX_AGE),
          revokedAt: null,
          dataVersion: 1,
        },
      ],
      nextCursor: null,
    })
    const row = await env.DB.prepare('SELECT client_key_hash FROM sessions WHERE id = ?1')
      .bind(session.id)
      .first<{ client_key_hash: string }>()
    const text = JSON.stringify(page)
    expect(text).not.toContain(row!.client_key_hash)
    expect(text).not.toContain(ip)
  })

  it('shows the address only when STORE_CLIENT_IP kept it', async () => {
    const keeping = harness({ STORE_CLIENT_IP: 'true' })
    const ip = freshIp()
    await startSession(keeping, ip)
    expect((await list(keeping)).sessions[0]!.clientIp).toBe(ip)
    const notKeeping = harness()
    expect((await list(notKeeping)).sessions[0]).not.toHaveProperty('clientIp')
  })

  it('serves 50 by default, newest first, with a cursor to the rest', async () => {
    const h = harness()
    const ids = await seedSessions(
      env.DB,
      liveSeeds(60, (i) => T0 - i)
    )
    const page = await list(h)
    expect(page.sessions.map((s) => s.id)).toEqual(ids.slice(0, 50))
    expect(page.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/)
    const rest = await list(h, `?cursor=${page.nextCursor}`)
    expect(rest.sessions.map((s) => s.id)).toEqual(ids.slice(50))
    expect(rest.nextCursor).toBeNull()
  })

  it.each([1, 7, 10, 79, 100])(
    'pages 237 rows with limit %i: every row once, in order, ties broken by id',
    async (limit) => {
      const h = harness()
      const seeds = liveSeeds(237, (i) => T0 - Math.floor(i / 10))
      const ids = await seedSessions(env.DB, seeds)
      const expected = newestFirst(ids.map((id, i) => ({ id, createdAt: seeds[i]!.createdAt })))
      const served = await listAll(h, `limit=${limit}`)
      expect(served).toEqual(expected)
      expect(new Set(served).size).toBe(237)
    }
  )

  it('ends with nextCursor null when the rows fill the last page exactly', async () => {
    const h = harness()
    await seedSessions(
      env.DB,
      liveSeeds(20, (i) => T0 - i)
    )
    const first = await list(h, '?limit=10')
    const second = await list(h, `?limit=10&cursor=${first.nextCursor}`)
    expect(second.sessions).toHaveLength(10)
    expect(second.nextCursor).toBeNull()
  })

  it('neither repeats nor skips rows when sessions start or go between pages', async () => {
    const h = harness()
    const seeds = liveSeeds(30, (i) => T0 - i)
    const ids = await seedSessions(env.DB, seeds)
    const first = await list(h, '?limit=10')
    await seedSessions(
      env.DB,
      liveSeeds(5, (i) => T0 + 100 + i)
    )
    await env.DB.prepare('DELETE FROM sessions WHERE id = ?1').bind(ids[3]!).run()
    const rest = await listAll(h, 'limit=10', first.nextCursor)
    expect(first.sessions.map((s) => s.id)).toEqual(ids.slice(0, 10))
    expect(rest).toEqual(ids.slice(10))
  })

  it('filters by state at the app clock', async () => {
    const h = harness()
    const now = T0 + 5000
    h.now = now
    const [live, idle, absolute, revoked] = await seedSessions(env.DB, [
      { createdAt: T0 + 4, idleExpiresAt: now + 1, absoluteExpiresAt: now + 100 },
      { createdAt: T0 + 3, idleExpiresAt: now, absoluteExpiresAt: now + 100 },
      { createdAt: T0 + 2, idleExpiresAt: now, absoluteExpiresAt: now },
      { createdAt: T0 + 1, idleExpiresAt: now + 1, absoluteExpiresAt: now + 100, revokedAt: T0 },
    ])
    const ids = async (state: string) =>
      (await list(h, `?state=${state}`)).sessions.map((s) => s.id)
    expect(await ids('live')).toEqual([live])
    expect(await ids('expired')).toEqual([idle, absolute])
    expect(await ids('revoked')).toEqual([revoked])
    const all = await list(h)
    expect(all.sessions.map((s) => [s.id, s.state])).toEqual([
      [live, 'live'],
      [idle, 'expired'],
      [absolute, 'expired'],
      [revoked, 'revoked'],
    ])
    expect(all.sessions[3]!.revokedAt).toBe(iso(T0))
  })

  it('filters by client address, in any spelling of it, without echoing it', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const mine = [await startSession(h, ip), await startSession(h, ip)]
    await startSession(h, freshIp())
    for (const spelling of [ip, `::ffff:${ip}`]) {
      const response = await h.fetch(`/v1/admin/sessions?ip=${encodeURIComponent(spelling)}`, {
        headers: ADMIN,
      })
      const text = await response.text()
      const page = JSON.parse(text) as Listing
      expect(page.sessions.map((s) => s.id).sort()).toEqual(mine.map((m) => m.session.id).sort())
      expect(text).not.toContain(ip)
    }
  })

  it('keys IPv6 clients by their /64, as sessions are', async () => {
    const h = harness()
    const hash = await hashOf('2001:db8:7:7::1')
    const [ours] = await seedSessions(
      env.DB,
      liveSeeds(1, () => T0, hash)
    )
    await seedSessions(
      env.DB,
      liveSeeds(1, () => T0, await hashOf('2001:db8:7:8::1'))
    )
    const page = await list(h, `?ip=${encodeURIComponent('2001:db8:7:7:aaaa::ffff')}`)
    expect(page.sessions.map((s) => s.id)).toEqual([ours])
  })

  it('combines the client filter with state and pages through it', async () => {
    const h = harness()
    const ip = freshIp()
    const hash = await hashOf(ip)
    const seeds = liveSeeds(25, (i) => T0 - i, hash)
    const ids = await seedSessions(env.DB, seeds)
    await seedSessions(env.DB, [
      { createdAt: T0 + 9, idleExpiresAt: T0, absoluteExpiresAt: T0 + 1, clientKeyHash: hash },
      ...liveSeeds(25, (i) => T0 - i),
    ])
    expect(await listAll(h, `limit=4&state=live&ip=${ip}`)).toEqual(ids)
  })

  it('finds sessions made under the previous secret during a rotation', async () => {
    const ip = freshIp()
    const oldSecret = env.SESSION_SECRET!
    const before = harness({ IDENTIFY_BY: 'token' })
    const { session } = await startSession(before, ip)
    const newSecret = 'rotated-secret-0123456789abcdef0123456789abcdef'
    const after = harness({ SESSION_SECRET: newSecret, SESSION_SECRET_PREVIOUS: oldSecret })
    const page = await list(after, `?ip=${ip}`)
    expect(page.sessions.map((s) => s.id)).toEqual([session.id])
    expect(await hashOf(ip, newSecret)).not.toBe(await hashOf(ip, oldSecret))
  })

  it.each([
    ['limit=0'],
    ['limit=101'],
    ['limit=-1'],
    ['limit=1.5'],
    ['limit=1e2'],
    ['limit=ten'],
    ['limit='],
    ['limit=10&limit=20'],
    ['state=ended'],
    ['state=LIVE'],
    ['state='],
    ['cursor=not*base64'],
    ['cursor='],
    [`cursor=${btoa('1800000000.short').replaceAll('=', '')}`],
    [`cursor=${btoa(`x.${newId()}`).replaceAll('=', '')}`],
    [`cursor=${btoa(`99999999999999999.${newId()}`).replaceAll('=', '')}`],
    [`cursor=${'A'.repeat(200)}`],
  ])('answers 400 invalid_request for %s', async (query) => {
    const h = harness()
    const response = await h.fetch(`/v1/admin/sessions?${query}`, { headers: ADMIN })
    expect(response.status).toBe(400)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(await response.json()).toMatchObject({ code: 'invalid_request' })
  })

  it.each(['not-an-ip', '', '203.0.113.1,203.0.113.2', '2001:db8::/64', '1.2.3.4.5'])(
    'answers 400 client_ip_invalid for ip=%j without echoing it',
    async (ip) => {
      const h = harness()
      const response = await h.fetch(`/v1/admin/sessions?ip=${encodeURIComponent(ip)}`, {
        headers: ADMIN,
      })
      expect(response.status).toBe(400)
      const body = await response.json<Record<string, unknown>>()
      expect(body).toMatchObject({ code: 'client_ip_invalid' })
      if (ip !== '') {
        expect(JSON.stringify(body)).not.toContain(ip)
      }
    }
  )
})

describe('GET /v1/admin/sessions/{id}', () => {
  it('reads one session in any state', async () => {
    const h = harness()
    const ip = freshIp()
    const { session } = await startSession(h, ip)
    h.now = T0 + 30
    await h.fetch(`/v1/admin/sessions/${session.id}`, { method: 'DELETE', headers: ADMIN })
    h.now = T0 + 40
    const response = await h.fetch(`/v1/admin/sessions/${session.id}`, { headers: ADMIN })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(await response.json()).toEqual({
      id: session.id,
      state: 'revoked',
      createdAt: iso(T0),
      lastSeenAt: iso(T0),
      expiresAt: iso(T0 + IDLE),
      absoluteExpiresAt: iso(T0 + MAX_AGE),
      revokedAt: iso(T0 + 30),
      dataVersion: 1,
    })
  })

  it.each([
    ['an unknown id', newId()],
    ['a short id', 'abc'],
    ['a long id', `${newId()}A`],
    ['an id with a dot', `${newId().slice(1)}.`],
    ['an encoded slash', `${newId().slice(3)}%2F..`],
    ['an encoded quote', `${newId().slice(3)}%27--`],
  ])('answers 404 not_found for %s', async (_, id) => {
    const h = harness()
    const response = await h.fetch(`/v1/admin/sessions/${id}`, { headers: ADMIN })
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ code: 'not_found' })
  })
})
