import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { createApp } from '../../src/http/app'

/** A fixed start for test clocks: 2027-01-15T08:00:00Z, in Unix seconds. */
export const T0 = 1_800_000_000

let ipCounter = 0

/** A documentation-range IPv4 address no other test in this run uses. */
export function freshIp(): string {
  ipCounter++
  const salt = Math.floor(Math.random() * 200)
  return `198.${18 + (salt % 2)}.${(ipCounter >> 8) % 256}.${ipCounter % 256}`
}

export type Harness = {
  now: number
  env: Env
  fetch: (path: string, init?: RequestInit & { ip?: string | null }) => Promise<Response>
}

/**
 * An app on a clock the test moves, over the real local D1 and KV, with `settings` laid over the
 * wrangler.toml vars. `fetch` waits for work deferred past the response, as production would.
 */
export function harness(settings: Partial<Env> = {}, start = T0): Harness {
  const h: Harness = {
    now: start,
    env: { ...env, ...settings } as Env,
    fetch: async (path, init = {}) => {
      const ctx = createExecutionContext()
      const headers = new Headers(init.headers)
      if (init.ip !== null && init.ip !== undefined) {
        headers.set('CF-Connecting-IP', init.ip)
      }
      const url = path.startsWith('http') ? path : `https://sessions.example${path}`
      const response = await app.request(url, { ...init, headers }, h.env, ctx)
      await waitOnExecutionContext(ctx)
      return response
    },
  }
  const app = createApp({ clock: () => h.now })
  return h
}

export type Reply = {
  session: {
    id: string
    createdAt: string
    lastSeenAt: string
    expiresAt: string
    absoluteExpiresAt: string
    idleTimeoutSeconds: number
  }
  token: string
  tokenExpiresAt: string
  client: { identifyBy: string; ipBinding: string }
}

/** Starts a session from `ip` and returns the reply body. */
export async function startSession(h: Harness, ip: string): Promise<Reply> {
  const response = await h.fetch('/v1/sessions', { method: 'POST', ip })
  if (response.status !== 201 && response.status !== 200) {
    throw new Error(`start answered ${response.status}`)
  }
  return response.json()
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` }
}

/** Decodes a JWT's payload without checking it, to read claims in assertions. */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1]!
  const text = atob(payload.replaceAll('-', '+').replaceAll('_', '/'))
  return JSON.parse(text) as Record<string, unknown>
}

export async function problemOf(response: Response): Promise<{ code: string; status: number }> {
  return response.json()
}
