// Storage cost: D1 statements and rows and KV operations per 1,000 authenticated requests, at
// refresh interval 0 and 60 s, counted by bench/storage-worker.ts (the real app with its bindings
// wrapped) running under `npm start`. Each workload's counts are the difference between the totals
// before it and after every write it caused has landed, so session set-up is not counted. After
// each workload, every session's idle deadline in D1 is compared with the latest deadline its
// responses announced: fewer writes must not mean a deadline lost.
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { createSessions, rotating } from './lib/load.mjs'
import { startServer } from './lib/server.mjs'

/** Authenticated requests per workload. */
export const REQUESTS = 1000
/** Request rate of the paced workload: 1,000 requests over about a minute, so refresh 60 bites. */
const PACED_REQUESTS_PER_SECOND = 17
/** Polls of the counters, ms apart, that must agree before a workload counts as drained. */
const DRAIN_POLL_MS = 500
/** Longest wait for the writes of a workload to land, ms. */
const DRAIN_TIMEOUT_MS = 60_000
/** Wait after set-up, ms: every token is then at least a second old, so its next use is due. */
const TOKEN_AGE_MS = 1100

const WORKLOADS = [
  {
    name: 'one hot session, 1,000 requests at full speed (10 connections)',
    key: 'hot',
    options: { connections: 10 },
  },
  {
    name: '1,000 sessions, one request each (10 connections)',
    key: 'spread',
    options: { connections: 10 },
  },
  {
    name: `one hot session, 1,000 requests paced at ${PACED_REQUESTS_PER_SECOND}/s (about 60 s)`,
    key: 'paced',
    options: { connections: 1, overallRate: PACED_REQUESTS_PER_SECOND },
  },
]

/**
 * Runs every workload at REFRESH_AFTER_SECONDS 0 and 60, the two servers side by side.
 * @param {{ ports: number[], logDir: string, log: (line: string) => void, paced?: boolean }} options
 */
export async function benchStorage({ ports, logDir, log, paced = true }) {
  const settings = [0, 60]
  const workloads = WORKLOADS.filter((w) => paced || w.key !== 'paced')
  const results = await Promise.all(
    settings.map((refresh, i) =>
      onServer(refresh, workloads, { ports: ports.slice(i * 2, i * 2 + 2), logDir, log })
    )
  )
  return workloads.map((workload) => ({
    name: workload.name,
    byRefresh: Object.fromEntries(
      settings.map((refresh, i) => [refresh, results[i][workload.key]])
    ),
  }))
}

async function onServer(refresh, workloads, { ports, logDir, log }) {
  const server = await startServer({
    port: ports[0],
    inspectorPort: ports[1],
    script: 'bench/storage-worker.ts',
    vars: { REVOCATION: 'fast', REFRESH_AFTER_SECONDS: String(refresh) },
    logDir,
    label: `storage-refresh-${refresh}`,
  })
  try {
    const out = {}
    for (const workload of workloads) {
      const sessions = await createSessions(server.url, workload.key === 'spread' ? REQUESTS : 1)
      await sleep(TOKEN_AGE_MS)
      const before = await drained(server.url)
      const announced = new Map()
      const load = await autocannon({
        url: server.url,
        amount: REQUESTS,
        requests: [
          { ...rotating(sessions, { path: '/v1/session' }), onResponse: track(announced) },
        ],
        ...workload.options,
      })
      const after = await drained(server.url)
      const lag = await deadlineLag(server.url, announced)
      out[workload.key] = { ...perThousand(before, after, load), ...lag }
      log(`storage: refresh ${refresh}: ${workload.key}: ${JSON.stringify(out[workload.key])}`)
    }
    return out
  } finally {
    await server.stop()
  }
}

/** Records, per session, the latest idle deadline a response announced. */
function track(announced) {
  return (status, body) => {
    if (status !== 200) {
      return
    }
    const { session } = JSON.parse(body)
    const deadline = Date.parse(session.expiresAt) / 1000
    announced.set(session.id, Math.max(announced.get(session.id) ?? 0, deadline))
  }
}

/**
 * How far D1's idle deadlines trail the latest ones announced, in seconds: the largest gap over
 * the sessions, and how many sessions have any gap. A D1 deadline ahead of every announcement
 * would be a bug too, so it throws.
 */
async function deadlineLag(url, announced) {
  const response = await fetch(`${url}/__bench/deadlines`)
  const stored = new Map(Object.entries(await response.json()))
  let maxLagSeconds = 0
  let sessionsBehind = 0
  for (const [id, deadline] of announced) {
    const lag = deadline - stored.get(id)
    if (!(lag >= 0)) {
      throw new Error(`session ${id.slice(0, 8)}: D1 deadline is not one the responses announced`)
    }
    maxLagSeconds = Math.max(maxLagSeconds, lag)
    sessionsBehind += lag > 0 ? 1 : 0
  }
  return { maxLagSeconds, sessionsBehind, sessions: announced.size }
}

async function counts(url) {
  const response = await fetch(`${url}/__bench/counts`)
  return response.json()
}

/** The counters once nothing is in flight and two polls in a row agree. */
async function drained(url) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS
  let last = await counts(url)
  while (Date.now() < deadline) {
    await sleep(DRAIN_POLL_MS)
    const now = await counts(url)
    if (now.inFlight === 0 && JSON.stringify(now) === JSON.stringify(last)) {
      return now
    }
    last = now
  }
  throw new Error(`storage writes still in flight after ${DRAIN_TIMEOUT_MS} ms`)
}

function perThousand(before, after, load) {
  const served = load['2xx']
  if (served !== REQUESTS || load.non2xx !== 0 || load.errors !== 0) {
    throw new Error(`storage workload served ${served}/${REQUESTS} with ${load.non2xx} non-2xx`)
  }
  const delta = (name) => ((after[name] - before[name]) * 1000) / served
  return {
    requests: served,
    seconds: load.duration,
    d1Statements: delta('d1Statements'),
    d1RowsWritten: delta('d1RowsWritten'),
    d1RowsRead: delta('d1RowsRead'),
    d1Failures: delta('d1Failures'),
    kvReads: delta('kvReads'),
    kvWrites: delta('kvWrites') + delta('kvDeletes'),
  }
}
