/**
 * Worker entry: `fetch` serves the Hono app; `scheduled` purges ended sessions.
 */
import { runCleanup } from './cleanup'
import { createApp } from './http/app'

const app = createApp()

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    await runCleanup(env, controller.scheduledTime)
  },
} satisfies ExportedHandler<Env>
