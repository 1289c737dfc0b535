#!/usr/bin/env node
// `npm start [-- wrangler dev flags]`: creates .dev.vars with fresh random secrets when it is
// missing, applies schema.sql to the local D1 database, then runs `wrangler dev` on localhost with
// local D1 and KV. Flags after `--` reach wrangler dev (--port, --var KEY:VALUE, --persist-to).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { offlineEnv as env, root, wrangler } from './wrangler.mjs'

const args = process.argv.slice(2)

ensureDevVars(join(root, '.dev.vars'))
applySchema(persistArgs(args))

const dev = spawn(wrangler, ['dev', '--show-interactive-dev-session=false', ...args], {
  cwd: root,
  env,
  stdio: 'inherit',
  detached: true,
})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => stop(signal))
}
dev.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))

// wrangler dev runs workerd in child processes; stop the whole group so none outlives us.
function stop(signal) {
  try {
    process.kill(-dev.pid, signal)
  } catch {
    process.exit(0)
  }
  setTimeout(() => {
    try {
      process.kill(-dev.pid, 'SIGKILL')
    } catch {}
    process.exit(0)
  }, 3000).unref()
}

function ensureDevVars(path) {
  if (existsSync(path)) {
    return
  }
  const lines = [
    '# Local secrets for `npm start`, made once with random values. Never commit this file.',
    `SESSION_SECRET=${randomBytes(32).toString('base64url')}`,
    `ADMIN_TOKEN=${randomBytes(24).toString('base64url')}`,
    '',
  ]
  writeFileSync(path, lines.join('\n'), { mode: 0o600 })
  console.log('edge-sessions: created .dev.vars with a fresh SESSION_SECRET and ADMIN_TOKEN')
}

function persistArgs(list) {
  const i = list.findIndex((a) => a === '--persist-to' || a.startsWith('--persist-to='))
  if (i === -1) {
    return []
  }
  return list[i].includes('=') ? [list[i]] : [list[i], list[i + 1]]
}

function applySchema(persist) {
  const result = spawnSync(
    wrangler,
    ['d1', 'execute', 'DB', '--local', '--file', join(root, 'schema.sql'), ...persist],
    { cwd: root, env, encoding: 'utf8' }
  )
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr)
    console.error('edge-sessions: applying schema.sql to the local D1 database failed')
    process.exit(1)
  }
  console.log('edge-sessions: schema.sql applied to the local D1 database')
}
