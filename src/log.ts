/**
 * One JSON line per noteworthy event. Callers pass only safe fields: a session-id prefix via
 * `sessionRef`, codes, counts and setting names; never a token, a secret or a raw IP.
 */
export type LogFields = Record<string, string | number | boolean | undefined>

export function logEvent(event: string, fields: LogFields = {}): void {
  console.log(JSON.stringify({ event, ...fields }))
}

/** First 8 of a session id's 22 characters: enough to follow one session through the logs. */
export function sessionRef(sessionId: string): string {
  return sessionId.slice(0, 8)
}
