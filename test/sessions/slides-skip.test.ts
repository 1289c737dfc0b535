import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { SlideQueue } from '../../src/sessions/slides'
import { bearer, freshIp, harness, startSession, T0 } from '../helpers/harness'

const IDLE = 1800

type Call = { id: string; lastSeenAt: number; idleExpiresAt: number }
type Gate = { release: () => void; fail: (error: Error) => void }

/** A write that records its calls; while `hold` is set, each call waits for its gate. */
function recorder() {
  const calls: Call[] = []
  const gates: Gate[] = []
  const errors: string[] = []
  const state = { hold: false }
  const write = (id: string, lastSeenAt: number, idleExpiresAt: number) => {
    calls.push({ id, lastSeenAt, idleExpiresAt })
    if (!state.hold) {
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => gates.push({ release: resolve, fail: reject }))
  }
  const onError = (id: string) => errors.push(id)
  return { calls, gates, errors, state, write, onError }
}

/** Lets queued promise callbacks run, so a released write's follow-up has started. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve()
  }
}

describe('SlideQueue: skipping writes that would not move a landed deadline', () => {
  it('skips a deadline that already landed for the session', async () => {
    const r = recorder()
    const queue = new SlideQueue(r.write, r.onError)
    await queue.schedule('s1', T0, T0 + IDLE)
    await queue.schedule('s1', T0, T0 + IDLE)
    expect(r.calls).toHaveLength(1)
    expect(queue.inFlight).toBe(0)
  })

  it('skips a deadline earlier than the landed one, and writes a later one', async () => {
    const r = recorder()
    const queue = new SlideQueue(r.write, r.onError)
    await queue.schedule('s1', T0 + 5, T0 + 5 + IDLE)
    await queue.schedule('s1', T0 + 4, T0 + 4 + IDLE)
    await queue.schedule('s1', T0 + 6, T0 + 6 + IDLE)
    expect(r.calls.map((c) => c.idleExpiresAt)).toEqual([T0 + 5 + IDLE, T0 + 6 + IDLE])
  })

  it('keeps sessions apart', async () => {
    const r = recorder()
    const queue = new SlideQueue(r.write, r.onError)
    await queue.schedule('s1', T0, T0 + IDLE)
    await queue.schedule('s2', T0, T0 + IDLE)
    expect(r.calls.map((c) => c.id)).toEqual(['s1', 's2'])
  })

  it('drops a follow-up equal to the in-flight deadline once that write lands', async () => {
    const r = recorder()
    r.state.hold = true
    const queue = new SlideQueue(r.write, r.onError)
    const first = queue.schedule('s1', T0, T0 + IDLE)
    const second = queue.schedule('s1', T0, T0 + IDLE)
    const third = queue.schedule('s1', T0, T0 + IDLE)
    r.gates[0]!.release()
    await Promise.all([first, second, third])
    expect(r.calls).toHaveLength(1)
  })

  it('still writes a later follow-up after the in-flight write lands', async () => {
    const r = recorder()
    r.state.hold = true
    const queue = new SlideQueue(r.write, r.onError)
    const first = queue.schedule('s1', T0, T0 + IDLE)
    const later = queue.schedule('s1', T0 + 1, T0 + 1 + IDLE)
    r.gates[0]!.release()
    await settle()
    r.gates[1]!.release()
    await Promise.all([first, later])
    expect(r.calls.map((c) => c.idleExpiresAt)).toEqual([T0 + IDLE, T0 + 1 + IDLE])
  })

  it('writes an equal follow-up when the in-flight write failed, so the deadline still lands', async () => {
    const r = recorder()
    r.state.hold = true
    const queue = new SlideQueue(r.write, r.onError)
    const first = queue.schedule('s1', T0, T0 + IDLE)
    const retry = queue.schedule('s1', T0, T0 + IDLE)
    r.gates[0]!.fail(new Error('D1 down'))
    await settle()
    r.gates[1]!.release()
    await Promise.all([first, retry])
    expect(r.calls).toHaveLength(2)
    expect(r.errors).toEqual(['s1'])
  })

  it('does not remember a deadline whose write failed', async () => {
    const r = recorder()
    r.state.hold = true
    const queue = new SlideQueue(r.write, r.onError)
    const failed = queue.schedule('s1', T0, T0 + IDLE)
    r.gates[0]!.fail(new Error('D1 down'))
    await failed
    r.state.hold = false
    await queue.schedule('s1', T0, T0 + IDLE)
    expect(r.calls).toHaveLength(2)
  })

  it('hands a joining call no promise of the write in flight; the first call covers its deadline', async () => {
    const r = recorder()
    r.state.hold = true
    const queue = new SlideQueue(r.write, r.onError)
    const first = queue.schedule('s1', T0, T0 + IDLE)
    let firstSettled = false
    void first.then(() => (firstSettled = true))
    await queue.schedule('s1', T0 + 1, T0 + 1 + IDLE)
    expect(r.calls).toHaveLength(1)
    r.gates[0]!.release()
    await settle()
    expect(firstSettled).toBe(false)
    expect(r.calls.map((c) => c.idleExpiresAt)).toEqual([T0 + IDLE, T0 + 1 + IDLE])
    r.gates[1]!.release()
    await first
    expect(queue.inFlight).toBe(0)
  })

  it('forgets the session written longest ago once over capacity', async () => {
    const r = recorder()
    const queue = new SlideQueue(r.write, r.onError, 2)
    for (const id of ['s1', 's2', 's3']) {
      await queue.schedule(id, T0, T0 + IDLE)
    }
    await queue.schedule('s3', T0, T0 + IDLE)
    await queue.schedule('s2', T0, T0 + IDLE)
    expect(r.calls.map((c) => c.id)).toEqual(['s1', 's2', 's3'])
    await queue.schedule('s1', T0, T0 + IDLE)
    expect(r.calls.map((c) => c.id)).toEqual(['s1', 's2', 's3', 's1'])
  })
})

/** The real D1 binding, with the statements prepared through it recorded. */
function recordingDb(db: D1Database): { db: D1Database; statements: string[] } {
  const statements: string[] = []
  const wrapped = new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') {
        return (query: string) => {
          statements.push(query)
          return target.prepare(query)
        }
      }
      const value = Reflect.get(target, property) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { db: wrapped, statements }
}

describe('GET /v1/session: slide writes of a hot session', () => {
  it('writes D1 once per deadline and lands the latest one', async () => {
    const recording = recordingDb(env.DB)
    const h = harness({ DB: recording.db })
    const ip = freshIp()
    const { session, token } = await startSession(h, ip)
    const slides = () => recording.statements.filter((q) => q.startsWith('UPDATE sessions SET'))

    h.now += 10
    for (let i = 0; i < 5; i++) {
      const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
      expect(response.status).toBe(200)
    }
    expect(slides()).toHaveLength(1)

    h.now += 1
    for (let i = 0; i < 3; i++) {
      expect((await h.fetch('/v1/session', { ip, headers: bearer(token) })).status).toBe(200)
    }
    expect(slides()).toHaveLength(2)
    const row = await env.DB.prepare(
      'SELECT idle_expires_at, last_seen_at FROM sessions WHERE id = ?1'
    )
      .bind(session.id)
      .first()
    expect(row).toEqual({ idle_expires_at: T0 + 11 + IDLE, last_seen_at: T0 + 11 })
  })
})
