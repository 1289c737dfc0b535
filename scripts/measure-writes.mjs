#!/usr/bin/env node
// Measures the D1 rows written per 1,000 authenticated requests at REFRESH_AFTER_SECONDS=0 and
// =60, against the real `npm start` server (wrangler dev, local D1 and KV) on loopback.
//
// How rows are counted: before a server starts, a trigger is added to its fresh temporary D1
// database that logs one line per row any UPDATE writes in `sessions`. An UPDATE whose condition
// matches no row logs nothing; one that rewrites equal values logs a line, as D1 bills it. After
// the server stopped, the log is counted per session. Session creation (the INSERT) is not counted.
//
// Each server runs three passes at once, each on its own sessions and client addresses, with the
// requests paced evenly over --seconds (default 130, so that a 60 s interval is crossed twice):
//   one session   1,000 GET /v1/session from one client that sends back each new token
//   first token   1,000 GET /v1/session from one client that keeps sending its first token
//   100 sessions  100 clients × 10 GET /v1/session each (13 s apart), sending back new tokens
//
// Usage: node scripts/measure-writes.mjs [--seconds 130]
// Servers listen on 127.0.0.1:8841 (interval 0) and :8842 (interval 60), inspectors on 8843/8844.
// The CF-Connecting-IP values are documentation addresses, sent only to those loopback servers.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { offlineEnv as env, root, wrangler } from './wrangler.mjs'

/** Requests per pass: the issue asks for rows written per 1,000 authenticated requests. */
const REQUESTS = 1000
/** Clients in the many-sessions pass; each sends REQUESTS / CLIENTS requests. */
const CLIENTS = 100
/** How long to wait for `npm start` to answer /healthz: wrangler dev needs 5–20 s here. */
const STARTUP_TIMEOUT_MS = 90_000
/** How long a stopping server may take before its process group is killed. */
const STOP_TIMEOUT_MS = 15_000

const SERVERS = [
  { refresh: 0, port: 8841, inspector: 8843 },
  { refresh: 60, port: 8842, inspector: 8844 },
]

const COUNTER_SQL = `
CREATE TABLE IF NOT EXISTS measure_row_writes (session_id TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS measure_row_writes_on_update AFTER UPDATE ON sessions
BEGIN
  INSERT INTO measure_row_writes (session_id) VALUES (NEW.id);
END;
`

const seconds = secondsArg(process.argv.slice(2))
const running = new Set()
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await Promise.all([...running].map(stop))
    process.exit(1)
  })
}

const results = await Promise.all(SERVERS.map((server) => measure(server)))
print(results.flat())

async function measure({ refresh, port, inspector }) {
  const dir = mkdtempSync(join(tmpdir(), 'edge-sessions-measure-'))
  try {
    prepareDatabase(dir)
    const server = await startServer({ refresh, port, inspector, dir })
    let passes
    try {
      const base = `http://127.0.0.1:${port}`
      passes = await Promise.all([
        onePass(base, 'one session', ['203.0.113.10'], true),
        onePass(base, 'first token', ['203.0.113.11'], false),
        onePass(base, '100 sessions', clientIps(CLIENTS), true),
      ])
    } finally {
      await stop(server)
    }
    const written = countRows(dir)
    return passes.map((pass) => ({
      refresh,
      ...pass,
      rows: pass.sessions.reduce((sum, id) => sum + (written.get(id) ?? 0), 0),
    }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function prepareDatabase(dir) {
  const file = join(dir, 'init.sql')
  writeFileSync(file, readFileSync(join(root, 'schema.sql'), 'utf8') + COUNTER_SQL)
  wranglerD1(dir, ['--file', file])
}

function countRows(dir) {
  const sql = 'SELECT session_id, count(*) AS n FROM measure_row_writes GROUP BY session_id'
  const out = wranglerD1(dir, ['--json', '--command', sql])
  const rows = JSON.parse(out)[0].results
  return new Map(rows.map((row) => [row.session_id, row.n]))
}

function wranglerD1(dir, args) {
  const result = spawnSync(
    wrangler,
    ['d1', 'execute', 'DB', '--local', '--persist-to', dir, ...args],
    { cwd: root, env, encoding: 'utf8' }
  )
  if (result.status !== 0) {
    throw new Error(`wrangler d1 execute failed:\n${result.stdout}${result.stderr}`)
  }
  return result.stdout
}

async function startServer({ refresh, port, inspector, dir }) {
  if (await healthy(port)) {
    throw new Error(`something already answers on 127.0.0.1:${port}; not starting a server there`)
  }
  const log = openSync(join(dir, 'server.log'), 'a')
  const args = ['start', '--', '--ip', '127.0.0.1', '--port', String(port)]
  args.push('--inspector-port', String(inspector), '--persist-to', dir)
  args.push('--var', `REFRESH_AFTER_SECONDS:${refresh}`)
  const child = spawn('npm', args, { cwd: root, env, detached: true, stdio: ['ignore', log, log] })
  const server = { child, port, exited: new Promise((resolve) => child.on('exit', resolve)) }
  running.add(server)
  const deadline = Date.now() + STARTUP_TIMEOUT_MS
  while (!(await healthy(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop(server)
      throw new Error(`npm start on port ${port} did not come up; see ${join(dir, 'server.log')}`)
    }
    await sleep(500)
  }
  return server
}

/**
 * Stops `npm start` by its process group. scripts/start.mjs forwards the signal to wrangler's own
 * group and waits for it, so the server's port is closed once the group has exited.
 */
async function stop(server) {
  if (!running.delete(server)) {
    return
  }
  signalGroup(server.child.pid, 'SIGTERM')
  const stopped = await Promise.race([server.exited.then(() => true), sleep(STOP_TIMEOUT_MS)])
  if (!stopped) {
    signalGroup(server.child.pid, 'SIGKILL')
  }
  for (let i = 0; i < 20 && (await healthy(server.port)); i++) {
    await sleep(500)
  }
  if (await healthy(server.port)) {
    console.error(`warning: 127.0.0.1:${server.port} still answers after stopping npm start`)
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group has already exited
  }
}

async function healthy(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`)
    return response.ok
  } catch {
    return false
  }
}

/** Starts one session per address, then sends REQUESTS GETs spread over `seconds`. */
async function onePass(base, name, ips, adopts) {
  const clients = []
  for (const ip of ips) {
    clients.push({ ip, ...(await startSession(base, ip)) })
  }
  const gapMs = (seconds * 1000) / REQUESTS
  const started = Date.now()
  let failed = 0
  let reissued = 0
  for (let n = 0; n < REQUESTS; n++) {
    await sleep(started + n * gapMs - Date.now())
    const client = clients[n % clients.length]
    const response = await fetch(`${base}/v1/session`, {
      headers: { 'CF-Connecting-IP': client.ip, Authorization: `Bearer ${client.token}` },
    })
    await response.arrayBuffer()
    const fresh = response.headers.get('Session-Token')
    if (response.status !== 200) {
      failed++
    } else if (fresh !== client.token) {
      reissued++
      if (adopts) {
        client.token = fresh
      }
    }
  }
  const sessions = clients.map((client) => client.id)
  const tookSeconds = Math.round((Date.now() - started) / 1000)
  return { name, requests: REQUESTS, tookSeconds, failed, reissued, sessions }
}

async function startSession(base, ip) {
  const response = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { 'CF-Connecting-IP': ip },
  })
  if (response.status !== 201) {
    throw new Error(`POST /v1/sessions answered ${response.status}: ${await response.text()}`)
  }
  const body = await response.json()
  return { id: body.session.id, token: body.token }
}

function clientIps(count) {
  return Array.from({ length: count }, (_, i) => `198.51.100.${i + 1}`)
}

function print(rows) {
  console.log(`\nRequests paced evenly over at least ${seconds} s per pass.\n`)
  const header = ['REFRESH_AFTER_SECONDS', 'pass', 'requests', 'seconds', 'not 200', 'new tokens']
  const table = [[...header, 'D1 rows written']]
  for (const r of rows) {
    table.push([r.refresh, r.name, r.requests, r.tookSeconds, r.failed, r.reissued, r.rows])
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((cells) => String(cells[i]).length)))
  for (const cells of table) {
    console.log(cells.map((cell, i) => String(cell).padEnd(widths[i])).join('  '))
  }
}

function secondsArg(args) {
  const i = args.indexOf('--seconds')
  if (i === -1) {
    return 130
  }
  const value = Number(args[i + 1])
  if (!Number.isInteger(value) || value < 1 || value > 600) {
    console.error('--seconds takes a whole number from 1 to 600')
    process.exit(2)
  }
  return value
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}
