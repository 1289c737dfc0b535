import { readFile } from 'node:fs/promises'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

export const TEST_SESSION_SECRET = 'test-secret-0123456789abcdef0123456789abcdef'

export default defineConfig(async () => {
  const schema = await readFile(new URL('./schema.sql', import.meta.url), 'utf8')
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            SESSION_SECRET: TEST_SESSION_SECRET,
            ADMIN_TOKEN: 'test-admin-token-0123456789abcdef',
            TEST_SCHEMA: schema,
          },
        },
      }),
    ],
    test: {
      include: ['test/**/*.test.ts'],
      exclude: ['test/e2e/**'],
      setupFiles: ['./test/setup.ts'],
      silent: 'passed-only',
    },
  }
})
