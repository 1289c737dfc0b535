// Load generation with autocannon, bounded by duration and by request count, and the session
// fixtures the scenarios send: sessions made over the real API, each with the address it was
// issued to (IP binding is strict by default, so a token only counts from its own address).
import autocannon from 'autocannon'
import { treeCpu } from './cpu.mjs'

/** Concurrent connections per scenario: enough to keep one wrangler dev busy on two cores. */
export const CONNECTIONS = 10
/** Hard cap on requests per scenario, whatever the duration, so no run is unbounded. */
export const MAX_REQUESTS_PER_SCENARIO = 500_000

let addressCounter = 0

/**
 * A fresh address from 198.18.0.0/15, the range RFC 2544 sets aside for benchmarks; every call in
 * one bench run returns a new one, so no two sessions share a client key.
 */
export function freshAddress() {
  addressCounter++
  if (addressCounter >= 2 ** 17) {
    throw new Error('ran out of benchmark addresses')
  }
  return `198.${18 + (addressCounter >> 16)}.${(addressCounter >> 8) & 255}.${addressCounter & 255}`
}

/**
 * Runs autocannon for `seconds` against `url` with `requests` (autocannon request objects) and
 * returns req/s, p50, p99, errors and non-2xx counts; with `serverPid`, also the CPU time the
 * server's process tree spent per request (null where /proc cannot be read).
 */
export async function measure({ url, seconds, requests, connections = CONNECTIONS, serverPid }) {
  const cpuBefore = serverPid === undefined ? undefined : treeCpu(serverPid)
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    maxOverallRequests: MAX_REQUESTS_PER_SCENARIO,
    requests,
  })
  const total = result.requests.total
  const cpuAfter = serverPid === undefined ? undefined : treeCpu(serverPid)
  const cpuMs = cpuBefore?.total === undefined ? null : (cpuAfter.total - cpuBefore.total) * 1000
  return {
    requests: total,
    cpuMsPerRequest: cpuMs === null || total === 0 ? null : cpuMs / total,
    requestsPerSecond: total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])
    ),
  }
}

/** Starts one session from `ip` over the API and returns `{ ip, token, id }`. */
export async function createSession(baseUrl, ip) {
  const response = await fetch(`${baseUrl}/v1/sessions`, {
    method: 'POST',
    headers: { 'CF-Connecting-IP': ip },
  })
  if (response.status !== 201) {
    throw new Error(`session start answered ${response.status}: ${await response.text()}`)
  }
  const body = await response.json()
  return { ip, token: body.token, id: body.session.id }
}

/** Starts `count` sessions, each from its own address, `parallel` at a time. */
export async function createSessions(baseUrl, count, parallel = CONNECTIONS) {
  const sessions = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      next++
      sessions.push(await createSession(baseUrl, freshAddress()))
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return sessions
}

/** A request that cycles through `sessions`, one per request, each from its own address. */
export function rotating(sessions, { method = 'GET', path, withToken = true }) {
  let i = 0
  return {
    method,
    path,
    setupRequest: (request) => {
      const session = sessions[i++ % sessions.length]
      const headers = { ...request.headers, 'cf-connecting-ip': session.ip }
      if (withToken) {
        headers.authorization = `Bearer ${session.token}`
      }
      return { ...request, headers }
    },
  }
}

/** A request from a new address every time: each one starts a new session. */
export function freshClients({ method, path }) {
  return {
    method,
    path,
    setupRequest: (request) => ({
      ...request,
      headers: { ...request.headers, 'cf-connecting-ip': freshAddress() },
    }),
  }
}
