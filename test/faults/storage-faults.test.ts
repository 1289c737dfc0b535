import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bearer, freshIp, harness, problemOf, startSession, T0 } from '../helpers/harness'
import { tapDb, tapKv, type Fault } from './bindings'

/** A short storage bound, so that a hung binding costs the test milliseconds, not seconds. */
const TIMEOUT = { STORAGE_TIMEOUT_MS: '20' }

function taps(settings: Partial<Env> = {}) {
  const db = tapDb()
  const kv = tapKv()
  const h = harness({ ...TIMEOUT, ...settings, DB: db.binding, REVOCATIONS: kv.binding })
  return { h, db, kv }
}

async function expectUnavailable(response: Response) {
  expect(response.status).toBe(503)
  expect(response.headers.get('Content-Type')).toBe('application/problem+json')
  expect(response.headers.get('Retry-After')).toBe('5')
  expect(response.headers.get('Set-Cookie')).toBeNull()
  expect(response.headers.get('Session-Token')).toBeNull()
  expect(await problemOf(response)).toMatchObject({ code: 'storage_unavailable', status: 503 })
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('D1 fails on start', () => {
  it.each<Fault>(['throw', 'hang'])('D1 %s: 503 storage_unavailable, no session', async (fault) => {
    const { h, db } = taps()
    db.fail = () => fault
    const ip = freshIp()
    await expectUnavailable(await h.fetch('/v1/sessions', { method: 'POST', ip }))

    db.fail = undefined
    const response = await h.fetch('/v1/sessions', { method: 'POST', ip })
    expect(response.status).toBe(201)
  })

  it.each<Fault>(['throw', 'hang'])(
    'D1 %s on the insert only: 503, and the retry makes one session',
    async (fault) => {
      const { h, db } = taps()
      db.fail = (sql) => (sql.startsWith('INSERT') ? fault : undefined)
      const ip = freshIp()
      await expectUnavailable(await h.fetch('/v1/sessions', { method: 'POST', ip }))
      db.fail = undefined
      expect((await h.fetch('/v1/sessions', { method: 'POST', ip })).status).toBe(201)
      expect((await h.fetch('/v1/sessions', { method: 'POST', ip })).status).toBe(200)
    }
  )

  it('the creation limiter fails: 503, not a free pass and not a 500', async () => {
    const limiter = new Proxy(env.CREATE_LIMITER!, {
      get: () => () => Promise.reject(new Error('limiter down')),
    })
    const h = harness({ CREATE_LIMITER: limiter })
    await expectUnavailable(await h.fetch('/v1/sessions', { method: 'POST', ip: freshIp() }))
  })
})

describe('KV fails on a fast-mode request: fail closed', () => {
  it.each<Fault>(['throw', 'hang'])('KV read %s: 503 for a live session', async (fault) => {
    const { h, kv } = taps()
    const ip = freshIp()
    const { token } = await startSession(h, ip)
    kv.fail = (method) => (method === 'get' ? fault : undefined)
    await expectUnavailable(await h.fetch('/v1/session', { ip, headers: bearer(token) }))
  })

  it.each<Fault>(['throw', 'hang'])(
    'KV read %s: a revoked session is refused, never let in',
    async (fault) => {
      const { h, kv } = taps()
      const ip = freshIp()
      const { token } = await startSession(h, ip)
      expect(
        (await h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(token) })).status
      ).toBe(204)
      kv.fail = (method) => (method === 'get' ? fault : undefined)
      const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
      expect(response.status).toBe(503)
      kv.fail = undefined
      const recovered = await h.fetch('/v1/session', { ip, headers: bearer(token) })
      expect(await problemOf(recovered)).toMatchObject({ code: 'session_revoked' })
    }
  )
})

describe('D1 fails where the request reads it', () => {
  it.each<Fault>(['throw', 'hang'])('REVOCATION=strict, D1 %s: 503', async (fault) => {
    const { h, db } = taps({ REVOCATION: 'strict' })
    const ip = freshIp()
    const { token } = await startSession(h, ip)
    db.fail = () => fault
    h.now = T0 + 10
    await expectUnavailable(await h.fetch('/v1/session', { ip, headers: bearer(token) }))
  })

  it.each<Fault>(['throw', 'hang'])('an expired token, D1 %s: 503', async (fault) => {
    const { h, db } = taps()
    const ip = freshIp()
    const started = await startSession(h, ip)
    h.now = T0 + 1000
    await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    db.fail = () => fault
    h.now = T0 + 1900
    await expectUnavailable(await h.fetch('/v1/session', { ip, headers: bearer(started.token) }))
  })
})

describe('the deferred slide fails after the response', () => {
  it.each<[Fault, string]>([
    ['throw', 'InjectedFault'],
    ['hang', 'StorageTimeoutError'],
  ])('D1 %s: the client is served, one JSON log line without token or IP', async (fault, cause) => {
    const { h, db } = taps()
    const ip = freshIp()
    const started = await startSession(h, ip)
    const lines: string[] = []
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => lines.push(String(line)))
    db.fail = (sql) => (sql.startsWith('UPDATE') ? fault : undefined)
    h.now = T0 + 10
    const response = await h.fetch('/v1/session', { ip, headers: bearer(started.token) })
    expect(response.status).toBe(200)
    const fresh = response.headers.get('Session-Token')!

    const failures = lines.filter((line) => line.includes('slide_failed'))
    expect(failures).toHaveLength(1)
    expect(JSON.parse(failures[0]!)).toEqual({
      event: 'slide_failed',
      sid: started.session.id.slice(0, 8),
      cause,
    })
    for (const secret of [started.token, fresh, ip, started.session.id]) {
      expect(lines.join('\n')).not.toContain(secret)
    }

    db.fail = undefined
    h.now = T0 + 20
    expect((await h.fetch('/v1/session', { ip, headers: bearer(fresh) })).status).toBe(200)
  })
})

describe('every operation under every storage fault: the success it owes, or 503, never 500', () => {
  type Taps = ReturnType<typeof taps>
  const json = { 'Content-Type': 'application/json', 'If-Match': '"1"' }
  const operations: Record<string, (h: Taps['h'], ip: string, token: string) => Promise<Response>> =
    {
      'POST /v1/sessions (new client)': (h) =>
        h.fetch('/v1/sessions', { method: 'POST', ip: freshIp() }),
      'GET /v1/session': (h, ip, token) => h.fetch('/v1/session', { ip, headers: bearer(token) }),
      'DELETE /v1/session': (h, ip, token) =>
        h.fetch('/v1/session', { method: 'DELETE', ip, headers: bearer(token) }),
      'GET /v1/session/data': (h, ip, token) =>
        h.fetch('/v1/session/data', { ip, headers: bearer(token) }),
      'PUT /v1/session/data': (h, ip, token) =>
        h.fetch('/v1/session/data', {
          method: 'PUT',
          ip,
          body: '{"a":1}',
          headers: { ...bearer(token), ...json },
        }),
    }
  const faults: Record<string, (t: Taps) => void> = {
    'D1 throws': (t) => (t.db.fail = () => 'throw'),
    'D1 hangs': (t) => (t.db.fail = () => 'hang'),
    'KV throws': (t) => (t.kv.fail = () => 'throw'),
    'KV hangs': (t) => (t.kv.fail = () => 'hang'),
  }
  /** A fast-mode GET touches D1 only after the response; a start touches no KV. */
  const cases: Array<[string, string, number]> = [
    ['POST /v1/sessions (new client)', 'D1 throws', 503],
    ['POST /v1/sessions (new client)', 'D1 hangs', 503],
    ['POST /v1/sessions (new client)', 'KV throws', 201],
    ['POST /v1/sessions (new client)', 'KV hangs', 201],
    ['GET /v1/session', 'D1 throws', 200],
    ['GET /v1/session', 'D1 hangs', 200],
    ['GET /v1/session', 'KV throws', 503],
    ['GET /v1/session', 'KV hangs', 503],
    ...['DELETE /v1/session', 'GET /v1/session/data', 'PUT /v1/session/data'].flatMap((op) =>
      Object.keys(faults).map((fault): [string, string, number] => [op, fault, 503])
    ),
  ]

  it.each(cases)('%s, %s: %i', async (operation, fault, status) => {
    const t = taps()
    const ip = freshIp()
    const { token } = await startSession(t.h, ip)
    faults[fault]!(t)
    t.h.now = T0 + 10
    const response = await operations[operation]!(t.h, ip, token)
    expect(response.status).toBe(status)
    if (status === 503) {
      await expectUnavailable(response)
    }
  })
})
