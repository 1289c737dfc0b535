/**
 * Idle-deadline writes that run after the response. Writes for one session that arrive while one
 * is in flight are merged into a single follow-up carrying the latest deadline, so the last
 * deadline always lands while a busy session costs at most one write in flight at a time.
 *
 * The queue also remembers the deadline it last landed per session (a bounded map that forgets
 * the session written longest ago first) and skips a write that would not move it: D1 never moves
 * a deadline back, so such a write would change nothing. Deadlines are whole seconds, so a busy session costs about one
 * write per second instead of one per request. Only a write that succeeded is remembered.
 */
export type SlideWrite = (id: string, lastSeenAt: number, idleExpiresAt: number) => Promise<void>

type Job = { lastSeenAt: number; idleExpiresAt: number }
type Lane = { next: Job | undefined; done: Promise<void> }

/**
 * Sessions whose landed deadline is remembered: ~100 bytes each, so about 0.4 MB of the isolate's
 * 128 MB; a session forgotten sooner only costs one write that changes nothing.
 */
export const REMEMBERED_SESSIONS = 4096

export class SlideQueue {
  private readonly lanes = new Map<string, Lane>()
  private readonly landed = new Map<string, number>()
  private readonly write: SlideWrite
  private readonly onError: (id: string, error: unknown) => void
  private readonly capacity: number

  constructor(
    write: SlideWrite,
    onError: (id: string, error: unknown) => void,
    capacity = REMEMBERED_SESSIONS
  ) {
    this.write = write
    this.onError = onError
    this.capacity = capacity
  }

  /**
   * Queues a deadline and returns the work the caller must keep alive (`waitUntil`): the drain it
   * started, which settles once every deadline queued for the session has been written. A call
   * that joins a drain already running returns a settled promise: that drain carries its deadline
   * and is kept alive by the request that started it, and a request that waits on I/O of another
   * request is cancelled by workerd as hung.
   */
  schedule(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void> {
    const job = { lastSeenAt, idleExpiresAt }
    const lane = this.lanes.get(id)
    if (lane !== undefined) {
      lane.next = later(lane.next, job)
      return Promise.resolve()
    }
    if (this.hasLanded(id, idleExpiresAt)) {
      return Promise.resolve()
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
        if (this.hasLanded(id, job.idleExpiresAt)) {
          continue
        }
        try {
          await this.write(id, job.lastSeenAt, job.idleExpiresAt)
          this.remember(id, job.idleExpiresAt)
        } catch (error) {
          this.onError(id, error)
        }
      }
    } finally {
      this.lanes.delete(id)
    }
  }

  private hasLanded(id: string, idleExpiresAt: number): boolean {
    const landed = this.landed.get(id)
    return landed !== undefined && landed >= idleExpiresAt
  }

  private remember(id: string, idleExpiresAt: number): void {
    this.landed.delete(id)
    this.landed.set(id, idleExpiresAt)
    if (this.landed.size > this.capacity) {
      this.landed.delete(this.landed.keys().next().value!)
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
