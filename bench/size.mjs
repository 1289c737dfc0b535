// Bundle size: the Worker exactly as `wrangler deploy` would upload it, built with `--dry-run
// --outdir` (nothing is sent anywhere), measured raw and gzipped.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { offlineEnv, wrangler } from '../scripts/wrangler.mjs'
import { root } from './lib/paths.mjs'

/** Builds the Worker bundle and returns its raw and gzip sizes in bytes, ours and wrangler's. */
export function benchSize() {
  const outdir = mkdtempSync(join(tmpdir(), 'edge-sessions-size-'))
  try {
    const result = spawnSync(wrangler, ['deploy', '--dry-run', '--outdir', outdir], {
      cwd: root,
      encoding: 'utf8',
      env: offlineEnv,
    })
    if (result.status !== 0) {
      throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}${result.stderr}`)
    }
    const modules = readdirSync(outdir).filter((name) => /\.(m?js|wasm)$/.test(name))
    const bytes = modules.map((name) => readFileSync(join(outdir, name)))
    const raw = bytes.reduce((sum, b) => sum + b.length, 0)
    const gzip = bytes.reduce((sum, b) => sum + gzipSync(b, { level: 9 }).length, 0)
    return { modules, raw, gzip, wrangler: wranglerFigures(result.stdout) }
  } finally {
    rmSync(outdir, { recursive: true, force: true })
  }
}

/** Wrangler's own "Total Upload: X KiB / gzip: Y KiB" line, in KiB. */
function wranglerFigures(stdout) {
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout)
  return match === null ? undefined : { rawKiB: Number(match[1]), gzipKiB: Number(match[2]) }
}
