import { env } from 'cloudflare:workers'
import { applySchema } from './helpers/schema'

await applySchema(env.DB, (env as unknown as { TEST_SCHEMA: string }).TEST_SCHEMA)
