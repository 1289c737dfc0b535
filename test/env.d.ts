declare namespace Cloudflare {
  interface Env {
    /** schema.sql, handed in by vitest.config.ts for the setup file. */
    TEST_SCHEMA?: string
  }
}
