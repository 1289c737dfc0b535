#!/usr/bin/env node
// Runs before `npm test`: the browser tests drive Debian's Chromium at /usr/bin/chromium and never
// download a browser. When it is missing, root installs it from Debian's packages; anyone else is
// told how.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const CHROMIUM = '/usr/bin/chromium'

if (!existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(
      `edge-sessions: the browser tests need ${CHROMIUM}; run: apt-get install -y chromium`
    )
    process.exit(1)
  }
  console.log('edge-sessions: installing Debian chromium for the browser tests')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env })
    if (result.status !== 0) {
      process.exit(result.status ?? 1)
    }
  }
}
