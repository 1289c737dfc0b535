// End to end over HTTP: the real `npm start` on loopback, driven by autocannon. On each server
// instance, every scenario runs in slices that alternate with /healthz slices (H S H S H …), and
// each of its ratios is taken against the /healthz slices on either side of it, then the median
// over its slices is reported. Load from elsewhere on the machine that comes and goes during the
// run then moves both sides of a ratio alike instead of faking one.
import { createSessions, freshClients, measure, rotating } from './lib/load.mjs'
import { startServer } from './lib/server.mjs'
import { median } from './lib/stats.mjs'

/** Sessions in the "many sessions" scenarios. */
export const DISTINCT_SESSIONS = 1000
/** Seconds of unrecorded load before a scenario's first slice (JIT, connections, caches). */
const WARM_UP_SECONDS = 1

const HEALTH = { method: 'GET', path: '/healthz' }

/**
 * Runs every HTTP scenario and returns one entry per server instance.
 * @param {{ seconds: number, slices: number, ports: number[], logDir: string, log: (line: string) => void }} options
 */
export async function benchHttp({ seconds, slices, ports, logDir, log, diagnose = false }) {
  const fast = await onServer(
    { label: 'fast', vars: { REVOCATION: 'fast', REFRESH_AFTER_SECONDS: '0' } },
    { seconds, slices, ports, logDir, log },
    fastScenarios
  )
  const strict = await onServer(
    { label: 'strict', vars: { REVOCATION: 'strict', REFRESH_AFTER_SECONDS: '0' } },
    { seconds, slices, ports, logDir, log },
    strictScenarios
  )
  if (!diagnose) {
    return [fast, strict]
  }
  const stubbed = await onServer(
    {
      label: 'diagnostic: fast, KV replaced by an in-memory map',
      vars: { REVOCATION: 'fast', REFRESH_AFTER_SECONDS: '0' },
      script: 'bench/kv-stub-worker.ts',
      distinct: 0,
    },
    { seconds, slices, ports, logDir, log },
    hotOnly
  )
  return [fast, strict, stubbed]
}

async function onServer(instance, { seconds, slices, ports, logDir, log }, scenariosFor) {
  log(`http: starting the ${instance.label} server`)
  const server = await startServer({
    port: ports[0],
    inspectorPort: ports[1],
    vars: instance.vars,
    script: instance.script,
    logDir,
    label: instance.label.replace(/\W+/g, '-'),
  })
  try {
    const [hot] = await createSessions(server.url, 1)
    const many = await createSessions(server.url, instance.distinct ?? DISTINCT_SESSIONS)
    const load = (requests, time) =>
      measure({ url: server.url, seconds: time, requests: [requests], serverPid: server.child.pid })
    const slice = (requests) => load(requests, seconds)
    const rows = []
    await load(HEALTH, WARM_UP_SECONDS)
    let health = await slice(HEALTH)
    const healthSlices = [health]
    for (const [name, requests] of scenariosFor(hot, many)) {
      await load(requests, WARM_UP_SECONDS)
      const pairs = []
      for (let i = 0; i < slices; i++) {
        const before = health
        const result = await slice(requests)
        health = await slice(HEALTH)
        healthSlices.push(health)
        pairs.push({ result, before, after: health })
      }
      const row = summarise(name, pairs)
      log(
        `http: ${instance.label}: ${name}: ${Math.round(row.requestsPerSecond)} req/s, ` +
          `${row.rpsRatio.toFixed(2)}× /healthz`
      )
      rows.push(row)
    }
    return { label: instance.label, vars: instance.vars, health: healthSummary(healthSlices), rows }
  } finally {
    await server.stop()
  }
}

/**
 * One scenario from its slices: sums and medians of its own figures, and each ratio taken against
 * the /healthz slices just before and just after it, then the median over slices.
 */
function summarise(name, pairs) {
  const ratio = (pick) =>
    median(
      pairs.map(({ result, before, after }) => pick(result) / ((pick(before) + pick(after)) / 2))
    )
  const results = pairs.map((pair) => pair.result)
  const requests = results.reduce((sum, r) => sum + r.requests, 0)
  return {
    name,
    requests,
    requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    statusCodes: mergeCounts(results.map((r) => r.statusCodes)),
    rpsRatio: ratio((r) => r.requestsPerSecond),
    p50Ratio: ratio((r) => r.p50),
    p99Ratio: ratio((r) => r.p99),
    cpuMsPerRequest: cpuKnown(pairs) ? median(results.map((r) => r.cpuMsPerRequest)) : null,
    cpuRatio: cpuKnown(pairs) ? ratio((r) => r.cpuMsPerRequest) : null,
  }
}

function cpuKnown(pairs) {
  return pairs.every((p) => [p.result, p.before, p.after].every((r) => r.cpuMsPerRequest > 0))
}

function healthSummary(slices) {
  const rps = slices.map((s) => s.requestsPerSecond)
  return {
    slices: slices.length,
    requestsPerSecond: median(rps),
    min: Math.min(...rps),
    max: Math.max(...rps),
    p50: median(slices.map((s) => s.p50)),
    p99: median(slices.map((s) => s.p99)),
    cpuMsPerRequest: slices.every((s) => s.cpuMsPerRequest > 0)
      ? median(slices.map((s) => s.cpuMsPerRequest))
      : null,
    errors: slices.reduce((sum, s) => sum + s.errors + s.non2xx, 0),
  }
}

function mergeCounts(list) {
  const out = {}
  for (const counts of list) {
    for (const [code, count] of Object.entries(counts)) {
      out[code] = (out[code] ?? 0) + count
    }
  }
  return out
}

function fastScenarios(hot, many) {
  return [
    ['GET /v1/session, live token, one hot session', rotating([hot], { path: '/v1/session' })],
    [
      `GET /v1/session, live token, ${many.length} sessions`,
      rotating(many, { path: '/v1/session' }),
    ],
    [
      'GET /v1/session, no token (ip mode), one client',
      rotating([hot], { path: '/v1/session', withToken: false }),
    ],
    [
      `GET /v1/session, no token (ip mode), ${many.length} clients`,
      rotating(many, { path: '/v1/session', withToken: false }),
    ],
    [
      'POST /v1/sessions, new client each request (creates)',
      freshClients({ method: 'POST', path: '/v1/sessions' }),
    ],
    [
      'POST /v1/sessions, live token, one hot session (resumes)',
      rotating([hot], { method: 'POST', path: '/v1/sessions' }),
    ],
  ]
}

function hotOnly(hot) {
  return [
    ['GET /v1/session, live token, one hot session', rotating([hot], { path: '/v1/session' })],
  ]
}

function strictScenarios(hot, many) {
  return [
    ['GET /v1/session, live token, one hot session', rotating([hot], { path: '/v1/session' })],
    [
      `GET /v1/session, live token, ${many.length} sessions`,
      rotating(many, { path: '/v1/session' }),
    ],
  ]
}
