/**
 * Worker entry: `fetch` serves the Hono app; `scheduled` purges ended sessions.
 */
import { createApp } from './http/app'

const app = createApp()

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>
