/**
 * Idle-deadline writes that run after the response. Writes for one session that arrive while one
 * is in flight are merged into a single follow-up carrying the latest deadline, so the last
 * deadline always lands while a busy session costs at most one write in flight at a time.
 */
export type SlideWrite = (id: string, lastSeenAt: number, idleExpiresAt: number) => Promise<void>

type Job = { lastSeenAt: number; idleExpiresAt: number }
type Lane = { next: Job | undefined; done: Promise<void> }

export class SlideQueue {
  private readonly lanes = new Map<string, Lane>()
  private readonly write: SlideWrite
  private readonly onError: (id: string, error: unknown) => void

  constructor(write: SlideWrite, onError: (id: string, error: unknown) => void) {
    this.write = write
    this.onError = onError
  }

  /** Queues a deadline; the promise settles when every write queued for the session so far ran. */
  schedule(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void> {
    const job = { lastSeenAt, idleExpiresAt }
    const lane = this.lanes.get(id)
    if (lane !== undefined) {
      lane.next = later(lane.next, job)
      return lane.done
    }
    const fresh: Lane = { next: job, done: Promise.resolve() }
    this.lanes.set(id, fresh)
    fresh.done = this.drain(id, fresh)
    return fresh.done
  }

  /** Sessions with a write in flight; for tests and the benchmark. */
  get inFlight(): number {
    return this.lanes.size
  }

  private async drain(id: string, lane: Lane): Promise<void> {
    try {
      while (lane.next !== undefined) {
        const job = lane.next
        lane.next = undefined
        try {
          await this.write(id, job.lastSeenAt, job.idleExpiresAt)
        } catch (error) {
          this.onError(id, error)
        }
      }
    } finally {
      this.lanes.delete(id)
    }
  }
}

function later(a: Job | undefined, b: Job): Job {
  if (a === undefined) {
    return b
  }
  return {
    lastSeenAt: Math.max(a.lastSeenAt, b.lastSeenAt),
    idleExpiresAt: Math.max(a.idleExpiresAt, b.idleExpiresAt),
  }
}
