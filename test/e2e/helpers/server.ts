/**
 * The real `npm start` server for end-to-end tests: `node scripts/start.mjs` on a loopback port
 * with a throw-away `--persist-to` directory, so each server starts with empty D1 and KV.
 *
 * start.mjs runs in a process group of its own and stops wrangler's group when it gets SIGTERM;
 * `stop` signals that group, waits for start.mjs to exit, then removes the directory.
 *
 * Starts are serialised within a test file: the first `npm start` of a fresh checkout writes
 * .dev.vars, and wrangler reloads a running server whose .dev.vars changes under it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'

/** How long a server may take to answer /healthz: wrangler bundles, then boots workerd. */
const READY_TIMEOUT_MS = 90_000
/** Pause between /healthz polls while the server boots. */
const READY_POLL_MS = 250
/** How long start.mjs may take to stop wrangler; it escalates to SIGKILL itself after 3 s. */
const STOP_TIMEOUT_MS = 10_000
/** Server output kept for the error message when a start fails. */
const LOG_TAIL_CHARS = 4_000

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export type ServerOptions = {
  /** Loopback port of the server; pick one from your own range. */
  port: number
  /** Port of wrangler's inspector; `port + 1` when omitted, so keep that one free too. */
  inspectorPort?: number
  /** Settings laid over wrangler.toml's vars, as `--var KEY:VALUE`. */
  vars?: Record<string, string>
}

export type Server = {
  /** `http://localhost:<port>`: a secure context for Chromium, so `__Host-` cookies work. */
  url: string
  /** Stops the server and its workerd processes and removes its storage. */
  stop: () => Promise<void>
}

let previousStart: Promise<unknown> = Promise.resolve()

/**
 * Starts `npm start` on `port` and resolves once /healthz answers 200.
 * @example const server = await startServer({ port: 8851, vars: { IDENTIFY_BY: 'token' } })
 */
export function startServer(options: ServerOptions): Promise<Server> {
  const started = previousStart.catch(() => undefined).then(() => launch(options))
  previousStart = started
  return started
}

async function launch(options: ServerOptions): Promise<Server> {
  const persistTo = await mkdtemp(join(tmpdir(), 'edge-sessions-e2e-'))
  const child = spawn(process.execPath, ['scripts/start.mjs', ...startArgs(options, persistTo)], {
    cwd: ROOT,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_HIDE_BANNER: 'true',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = captureOutput(child)
  const url = `http://localhost:${options.port}`
  const stop = async () => {
    await stopGroup(child)
    await rm(persistTo, { recursive: true, force: true })
  }
  try {
    await waitUntilHealthy(url, child)
  } catch (error) {
    await stop()
    throw new Error(`${(error as Error).message}\n--- server output ---\n${output()}`)
  }
  return { url, stop }
}

function startArgs(options: ServerOptions, persistTo: string): string[] {
  const vars = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`])
  return [
    '--port',
    String(options.port),
    '--ip',
    '127.0.0.1',
    '--inspector-port',
    String(options.inspectorPort ?? options.port + 1),
    '--persist-to',
    persistTo,
    ...vars,
  ]
}

function captureOutput(child: ChildProcess): () => string {
  let tail = ''
  const keep = (chunk: { toString(): string }) => {
    tail = (tail + chunk.toString()).slice(-LOG_TAIL_CHARS)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  return () => tail
}

async function waitUntilHealthy(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (hasExited(child)) {
      throw new Error(
        `npm start exited (${child.exitCode ?? child.signalCode}) before it was ready`
      )
    }
    if (await healthy(url)) {
      return
    }
    await pause(READY_POLL_MS)
  }
  throw new Error(`npm start did not answer ${url}/healthz within ${READY_TIMEOUT_MS} ms`)
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`)
    await response.arrayBuffer()
    return response.status === 200
  } catch {
    return false
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || hasExited(child)) {
    return
  }
  signalGroup(child.pid, 'SIGTERM')
  if (!(await exitWithin(child, STOP_TIMEOUT_MS))) {
    signalGroup(child.pid, 'SIGKILL')
    await exitWithin(child, STOP_TIMEOUT_MS)
  }
}

async function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!hasExited(child) && Date.now() < deadline) {
    await pause(READY_POLL_MS)
  }
  return hasExited(child)
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function signalGroup(pid: number, signal: 'SIGTERM' | 'SIGKILL'): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group is already gone
  }
}
