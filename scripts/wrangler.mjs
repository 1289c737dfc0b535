// Where this project's wrangler is, and the environment every run of it gets: no metrics, no
// cf-object fetch, and no banner (its update check would reach the registry). Used by
// `npm start`, scripts/measure-writes.mjs and the benchmark.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The pinned wrangler's command. */
export const wrangler = join(root, 'node_modules', '.bin', 'wrangler')

/** process.env with wrangler kept off the network. */
export const offlineEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
}
