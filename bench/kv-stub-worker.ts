/**
 * A diagnostic, not the product: the real app with its KV binding replaced by an in-memory map,
 * for `npm run bench -- --diagnose`. Against the real server it shows how much of the hot path's
 * cost is the local KV simulator's read (in production a KV read is a network call whose CPU
 * cost lands elsewhere).
 */
import { createApp } from '../src/http/app'

const app = createApp()
const entries = new Map<string, string>()
const wrapped = new WeakMap<Env, Env>()

const memoryKv = {
  get: async (key: string) => entries.get(key) ?? null,
  put: async (key: string, value: string) => {
    entries.set(key, value)
  },
  delete: async (key: string) => {
    entries.delete(key)
  },
} as unknown as KVNamespace

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    let stubbed = wrapped.get(env)
    if (stubbed === undefined) {
      stubbed = { ...env, REVOCATIONS: memoryKv }
      wrapped.set(env, stubbed)
    }
    return app.fetch(request, stubbed, ctx)
  },
} satisfies ExportedHandler<Env>
