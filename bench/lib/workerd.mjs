// Runs one TypeScript Worker inside workerd through Miniflare (the runtime wrangler bundles), after
// bundling it with esbuild the way wrangler would. No network: Miniflare listens on loopback only.
import { readFileSync } from 'node:fs'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { root } from './paths.mjs'

/** The compatibility date the product runs with, from wrangler.toml. */
export function compatibilityDate() {
  const toml = readFileSync(`${root}/wrangler.toml`, 'utf8')
  const match = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)
  if (match === null) {
    throw new Error('wrangler.toml has no compatibility_date')
  }
  return match[1]
}

/** Bundles `entry` and starts it in workerd; returns the Miniflare instance. */
export async function startWorker(entry, bindings) {
  const bundle = await build({
    entryPoints: [`${root}/${entry}`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  return new Miniflare({
    modules: true,
    script: bundle.outputFiles[0].text,
    compatibilityDate: compatibilityDate(),
    bindings,
  })
}

/** GETs a path from the Worker and returns its JSON; any non-200 answer throws with its text. */
export async function getJson(mf, path) {
  const response = await mf.dispatchFetch(`http://bench.local${path}`)
  const text = await response.text()
  if (response.status !== 200) {
    throw new Error(`${path} answered ${response.status}: ${text.slice(0, 500)}`)
  }
  return JSON.parse(text)
}
