import { describe, expect, it } from 'vitest'
import { SlideQueue } from '../../src/sessions/slides'

type Write = { id: string; lastSeenAt: number; idleExpiresAt: number }

/** A write function whose calls the test settles by hand, one at a time. */
function manualWrites() {
  const writes: Write[] = []
  const pending: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  const write = (id: string, lastSeenAt: number, idleExpiresAt: number) => {
    writes.push({ id, lastSeenAt, idleExpiresAt })
    return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }))
  }
  const settleNext = async (error?: unknown) => {
    const next = pending.shift()!
    if (error === undefined) {
      next.resolve()
    } else {
      next.reject(error)
    }
    await new Promise((r) => setTimeout(r, 0))
  }
  return { writes, write, settleNext }
}

describe('SlideQueue', () => {
  it('merges slides that arrive while one is in flight into one follow-up with the latest deadline', async () => {
    const { writes, write, settleNext } = manualWrites()
    const queue = new SlideQueue(write, () => {})
    const first = queue.schedule('a', 100, 1900)
    queue.schedule('a', 105, 1905)
    queue.schedule('a', 103, 1903)
    const last = queue.schedule('a', 110, 1910)
    expect(writes).toEqual([{ id: 'a', lastSeenAt: 100, idleExpiresAt: 1900 }])

    await settleNext()
    expect(writes).toHaveLength(2)
    expect(writes[1]).toEqual({ id: 'a', lastSeenAt: 110, idleExpiresAt: 1910 })
    await settleNext()
    await Promise.all([first, last])
    expect(queue.inFlight).toBe(0)
  })

  it('keeps sessions apart: each has its own lane', async () => {
    const { writes, write, settleNext } = manualWrites()
    const queue = new SlideQueue(write, () => {})
    queue.schedule('a', 1, 1801)
    queue.schedule('b', 2, 1802)
    expect(writes.map((w) => w.id)).toEqual(['a', 'b'])
    expect(queue.inFlight).toBe(2)
    await settleNext()
    await settleNext()
    expect(queue.inFlight).toBe(0)
  })

  it('reports a failed write, settles, and still runs the merged follow-up', async () => {
    const { writes, write, settleNext } = manualWrites()
    const failures: string[] = []
    const queue = new SlideQueue(write, (id) => failures.push(id))
    const done = queue.schedule('a', 100, 1900)
    queue.schedule('a', 160, 1960)
    await settleNext(new Error('D1 down'))
    expect(failures).toEqual(['a'])
    expect(writes).toHaveLength(2)
    await settleNext()
    await expect(done).resolves.toBeUndefined()
    expect(queue.inFlight).toBe(0)
  })
})
