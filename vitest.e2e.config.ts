import { defineConfig } from 'vitest/config'

// End-to-end tests run in Node against the real `npm start` server (test/e2e/helpers/server.ts).
// One file at a time: each starts wrangler and workerd, and the machine has two cores.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    silent: 'passed-only',
  },
})
