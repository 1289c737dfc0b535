// JWT sign and verify inside workerd: ours against hono/jwt, jose, @tsndr/cloudflare-worker-jwt
// and bare crypto.subtle (bench/jwt-worker.ts). Cases run in rounds, each round in a rotated
// order, so that a burst of load from elsewhere on the machine hits every case alike; each ratio
// is taken within a round and the median over rounds is reported.
import { randomBytes } from 'node:crypto'
import { getJson, startWorker } from './lib/workerd.mjs'
import { median } from './lib/stats.mjs'

export const OURS = 'ours'
export const BARE = 'bare crypto.subtle'

/**
 * Runs the JWT bench and returns, per op and case, the median ops/s and the median ratio to ours.
 * @param {{ rounds: number, roundMs: number, log: (line: string) => void }} options
 */
export async function benchJwt({ rounds, roundMs, log }) {
  const secret = randomBytes(32).toString('base64url')
  const mf = await startWorker('bench/jwt-worker.ts', { BENCH_SECRET: secret })
  try {
    const check = await getJson(mf, '/check')
    const failed = Object.entries(check).filter(([, verdict]) => verdict !== 'ok')
    if (failed.length > 0) {
      throw new Error(`JWT cross-check failed: ${JSON.stringify(Object.fromEntries(failed))}`)
    }
    const names = Object.keys(check)
    const samples = { sign: {}, verify: {}, steps: {} }
    let warmUpOps = 0
    for (let round = 0; round < rounds; round++) {
      const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)]
      for (const op of ['verify', 'sign']) {
        for (const name of order) {
          const query = `case=${encodeURIComponent(name)}&op=${op}&ms=${roundMs}`
          const { ops, ms, warmUpOps: warm } = await getJson(mf, `/run?${query}`)
          warmUpOps = warm
          ;(samples[op][name] ??= []).push((ops * 1000) / ms)
        }
      }
      const timed = await getJson(mf, `/steps?ms=${Math.ceil(roundMs / 4)}`)
      for (const [name, micros] of Object.entries(timed)) {
        ;(samples.steps[name] ??= []).push(micros)
      }
      log(`jwt: round ${round + 1}/${rounds} done`)
    }
    const steps = Object.entries(samples.steps).map(([name, list]) => ({
      name,
      microseconds: median(list),
    }))
    return {
      cases: names,
      check,
      roundMs,
      warmUpOps,
      ops: summarise(samples, names, rounds),
      steps,
    }
  } finally {
    await mf.dispose()
  }
}

function summarise(samples, names, rounds) {
  const out = {}
  for (const op of ['verify', 'sign']) {
    out[op] = names.map((name) => {
      const perRound = samples[op][name]
      const ratios = perRound.map((value, i) => value / samples[op][OURS][i])
      return {
        name,
        opsPerSecond: median(perRound),
        ratioToOurs: median(ratios),
        oursToIt: median(ratios.map((r) => 1 / r)),
        rounds,
      }
    })
  }
  return out
}
