// Starts the real `npm start` (scripts/start.mjs → wrangler dev) on a loopback port with its own
// persistence directory and settings, waits for /healthz, and stops its whole process group and
// removes the directory.
import { spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { offlineEnv } from '../../scripts/wrangler.mjs'
import { root } from './paths.mjs'

/** How long wrangler dev may take to answer /healthz after launch, ms (cold start on 2 cores). */
const READY_TIMEOUT_MS = 90_000
/** How long a server may take to exit after SIGTERM before its group gets SIGKILL, ms. */
const STOP_TIMEOUT_MS = 8_000

const running = new Set()

/**
 * Starts one server. `script` replaces the Worker entry (the storage bench wraps the app);
 * `vars` become `--var NAME:value`. Returns `{ url, stop, logPath, persistTo }`.
 */
export async function startServer({ port, inspectorPort, vars = {}, script, logDir, label }) {
  const persistTo = mkdtempSync(join(tmpdir(), 'edge-sessions-bench-'))
  const args = [
    join(root, 'scripts', 'start.mjs'),
    ...(script === undefined ? [] : [script]),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    persistTo,
    ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ]
  const logPath = join(logDir, `server-${label}.log`)
  const log = createWriteStream(logPath)
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: offlineEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  const exited = new Promise((resolve) => child.on('exit', resolve))
  const server = { url: `http://127.0.0.1:${port}`, logPath, persistTo, child, exited }
  server.stop = () => stopServer(server)
  running.add(server)
  await waitForHealth(server)
  return server
}

async function waitForHealth(server) {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let exitedEarly = false
  server.exited.then(() => (exitedEarly = true))
  while (Date.now() < deadline && !exitedEarly) {
    try {
      const response = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) })
      if (response.status === 200) {
        return
      }
    } catch {}
    await sleep(250)
  }
  await server.stop()
  throw new Error(`server did not answer /healthz; see ${server.logPath}`)
}

/** SIGTERM to the server's process group (start.mjs forwards it to wrangler's), then SIGKILL. */
export async function stopServer(server) {
  if (!running.delete(server)) {
    return
  }
  signalGroup(server.child.pid, 'SIGTERM')
  const stopped = await Promise.race([server.exited.then(() => true), sleep(STOP_TIMEOUT_MS)])
  if (stopped !== true) {
    signalGroup(server.child.pid, 'SIGKILL')
    await server.exited
  }
  rmSync(server.persistTo, { recursive: true, force: true })
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal)
  } catch {}
}

/** Stops every server this process started; for exit and signal handlers. */
export async function stopAll() {
  await Promise.all([...running].map((server) => stopServer(server)))
}
