import { env } from 'cloudflare:workers'
import { applySchema } from './helpers/schema'

await applySchema(env.DB, env.TEST_SCHEMA ?? '')
