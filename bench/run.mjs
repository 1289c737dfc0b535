#!/usr/bin/env node
// `npm run bench [-- --quick] [--diagnose] [--only jwt,http,storage,size]`: measures the JWT module
// against its peers inside workerd, the real server end to end over HTTP, the storage cost per
// request and the bundle size, prints the figures and writes them to bench/RESULTS.md (a full run
// only; partial and quick runs write bench/out/ instead). `--diagnose` adds a server whose KV is an
// in-memory map, to show what the local KV simulator costs. Timing never gates anything: this
// prints figures, and CI does not run it.
//
// Servers listen on 127.0.0.1 only, on BENCH_PORTS (default 8861-8866: two per server, the HTTP
// port and wrangler's inspector port). Every load is bounded in duration and request count, and
// every server started here is stopped (its whole process group) before the run ends.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, platform, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { format, resolveConfig } from 'prettier'
import { benchHttp } from './http.mjs'
import { benchJwt } from './jwt.mjs'
import { root } from './lib/paths.mjs'
import { stopAll } from './lib/server.mjs'
import { ANALYSIS_MARKER, renderResults, targets } from './report.mjs'
import { benchSize } from './size.mjs'
import { benchStorage } from './storage.mjs'

const PHASES = ['jwt', 'http', 'storage', 'size']

/** Full and quick settings: seconds per HTTP slice, slices per scenario, JWT rounds and loop ms. */
const PROFILES = {
  full: { httpSeconds: 4, httpSlices: 3, jwtRounds: 7, jwtRoundMs: 400, paced: true },
  quick: { httpSeconds: 2, httpSlices: 1, jwtRounds: 2, jwtRoundMs: 150, paced: false },
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    diagnose: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
})
const phases = values.only === undefined ? PHASES : values.only.split(',')
const unknown = phases.filter((p) => !PHASES.includes(p))
if (unknown.length > 0) {
  console.error(`unknown phase(s): ${unknown.join(', ')}; phases are ${PHASES.join(', ')}`)
  process.exit(2)
}
const mode = values.quick ? 'quick' : 'full'
const profile = PROFILES[mode]
const ports = (process.env.BENCH_PORTS ?? '8861,8862,8863,8864,8865,8866').split(',').map(Number)
const outDir = join(root, 'bench', 'out')
mkdirSync(outDir, { recursive: true })

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopAll()
    process.exit(130)
  })
}

const log = (line) => console.log(line)
const run = { machine: machineInfo(mode), phases }
try {
  noteLoad('start')
  if (phases.includes('jwt')) {
    run.jwt = await benchJwt({ rounds: profile.jwtRounds, roundMs: profile.jwtRoundMs, log })
    noteLoad('after jwt')
  }
  if (phases.includes('http')) {
    run.http = await benchHttp({
      seconds: profile.httpSeconds,
      slices: profile.httpSlices,
      ports: ports.slice(0, 2),
      logDir: outDir,
      log,
      diagnose: values.diagnose,
    })
    noteLoad('after http')
  }
  if (phases.includes('storage')) {
    run.storage = await benchStorage({
      ports: ports.slice(2, 6),
      logDir: outDir,
      log,
      paced: profile.paced,
    })
    noteLoad('after storage')
  }
  if (phases.includes('size')) {
    run.size = benchSize()
    noteLoad('after size')
  }
} finally {
  await stopAll()
}

const markdown = renderResults(run)
console.log(`\n${markdown}`)
writeFileSync(join(outDir, 'results.json'), JSON.stringify(run, null, 2))
const complete = mode === 'full' && phases.length === PHASES.length
const target = complete ? join(root, 'bench', 'RESULTS.md') : join(outDir, 'RESULTS.partial.md')
const document = `${markdown}\n${keptAnalysis()}`
const options = (await resolveConfig(target)) ?? {}
writeFileSync(target, await format(document, { ...options, filepath: target }))
console.log(`\nwrote ${target}`)
const checked = targets(run)
const missed = checked.filter((t) => !t.met).length
console.log(`${checked.length - missed} of ${checked.length} targets met in the phases run`)

function noteLoad(phase) {
  run.machine.load.push({ phase, loadavg: loadavg() })
}

/** The analysis section of the current RESULTS.md, or an empty one. */
function keptAnalysis() {
  const path = join(root, 'bench', 'RESULTS.md')
  const text = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const at = text.indexOf(ANALYSIS_MARKER)
  return at === -1 ? `${ANALYSIS_MARKER}\n` : text.slice(at)
}

function machineInfo(runMode) {
  const cpu = cpus()
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    mode: runMode,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${platform()} ${release()}`,
    node: process.versions.node,
    wrangler: packageVersion('wrangler'),
    workerd: packageVersion('workerd'),
    load: [],
  }
}

function packageVersion(name) {
  try {
    const text = readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')
    return JSON.parse(text).version
  } catch {
    return 'unknown'
  }
}
