/**
 * The session page, rendered on the server without a session: it states what the server knows of
 * every client (identity mode, IP binding, whether the address is stored) and leaves empty slots
 * that /page.js fills from the session API. Nothing here reads the cookie or shows a token or an
 * address.
 */
import type { Config } from '../config'

export type PageFacts = Pick<
  Config,
  'identifyBy' | 'ipBinding' | 'storeClientIp' | 'idleTimeoutSeconds'
>

/**
 * The whole HTML document, doctype included.
 * @example return c.html(renderPage(loadConfig(c.env)))
 */
export function renderPage(facts: PageFacts): string {
  return `<!doctype html>${(<SessionPage {...facts} />).toString()}`
}

function SessionPage(facts: PageFacts) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>Your session · edge-sessions</title>
        <link rel="icon" href="/page.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/page.css" />
        <script src="/page.js" defer />
      </head>
      <body data-session="unknown">
        <main>
          <h1>Your session</h1>
          <p id="status" role="status" aria-live="polite">
            Looking for your session…
          </p>
          <noscript>
            <p>This page needs JavaScript to call the session API.</p>
          </noscript>
          <SessionCard idleTimeoutSeconds={facts.idleTimeoutSeconds} />
          <ClientCard {...facts} />
        </main>
      </body>
    </html>
  )
}

function SessionCard(props: { idleTimeoutSeconds: number }) {
  return (
    <section aria-labelledby="session-heading">
      <h2 id="session-heading">Session</h2>
      <p id="session-summary">Not known yet.</p>
      <dl>
        <dt>Short id</dt>
        <dd>
          <code id="session-id">—</code>
        </dd>
        <dt>Started</dt>
        <dd>
          <time id="session-started">—</time>
        </dd>
        <dt>Ends if unused</dt>
        <dd>
          <span id="session-countdown" role="timer" aria-label="Time left before it ends">
            —
          </span>
          <span class="when-live">
            {' · at '}
            <time id="session-deadline">—</time>
          </span>
        </dd>
      </dl>
      <p class="hint" id="idle-hint">
        A session ends {duration(props.idleTimeoutSeconds)} after its last request; every request
        moves that deadline.
      </p>
      <div class="actions">
        <button type="button" id="use-session" aria-describedby="idle-hint" disabled>
          Use session
        </button>
        <button type="button" id="end-session" disabled>
          End session
        </button>
        <button type="button" id="start-session" hidden>
          Start a new session
        </button>
      </div>
    </section>
  )
}

function ClientCard(facts: PageFacts) {
  return (
    <section aria-labelledby="client-heading">
      <h2 id="client-heading">What the server knows of your client</h2>
      <dl>
        <dt>Recognised by</dt>
        <dd id="identify-by" data-mode={facts.identifyBy}>
          {facts.identifyBy === 'ip'
            ? 'your IP address: browsers on one address share one session'
            : 'its token: every browser gets a session of its own'}
        </dd>
        <dt>Bound to your IP address</dt>
        <dd id="ip-binding" data-binding={facts.ipBinding}>
          {facts.ipBinding === 'strict'
            ? 'yes: from another address the session is not honoured'
            : 'no: the session follows you across networks'}
        </dd>
        <dt>Your address</dt>
        <dd id="address-kept">
          {facts.storeClientIp
            ? 'stored with the session, as the operator chose; never shown here'
            : 'kept only as a keyed hash; never shown here'}
        </dd>
      </dl>
    </section>
  )
}

function duration(seconds: number): string {
  if (seconds % 60 !== 0) {
    return `${seconds} seconds`
  }
  const minutes = seconds / 60
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}
