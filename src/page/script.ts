/**
 * The page's script, served as /page.js so that the CSP can forbid inline script. It calls the
 * same endpoints as any client, with the cookie (`credentials: 'same-origin'`), and reads only the
 * `session` part of a reply: the token stays in the HttpOnly cookie, out of the page's reach.
 *
 * note: a string rather than a bundled module, because wrangler's esbuild (keepNames) rewrites
 * function bodies with a helper that does not exist in the browser.
 */
export const PAGE_SCRIPT = `'use strict'
;(() => {
  const byId = (id) => document.getElementById(id)
  const ui = {
    status: byId('status'),
    summary: byId('session-summary'),
    id: byId('session-id'),
    started: byId('session-started'),
    deadline: byId('session-deadline'),
    countdown: byId('session-countdown'),
    use: byId('use-session'),
    end: byId('end-session'),
    start: byId('start-session'),
  }
  const dayAndTime = new Intl.DateTimeFormat(undefined, {
    dateStyle: 'medium',
    timeStyle: 'medium',
  })
  const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' })
  let deadline = 0

  async function call(method, path) {
    let response
    try {
      response = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      })
    } catch {
      return { status: 0, body: null }
    }
    const body = response.status === 204 ? null : await response.json().catch(() => null)
    return { status: response.status, body }
  }

  function say(text) {
    ui.status.textContent = text
  }

  function problemText(reply) {
    if (reply.status === 0) {
      return 'The server could not be reached. Try again.'
    }
    const title = reply.body && reply.body.title
    return typeof title === 'string' ? title : 'The server answered ' + reply.status + '.'
  }

  function setTime(node, iso, format) {
    node.dateTime = iso
    node.textContent = format.format(new Date(iso))
  }

  function blank(node) {
    node.removeAttribute('datetime')
    node.textContent = '—'
  }

  function showSession(session) {
    document.body.dataset.session = 'live'
    ui.summary.textContent = 'You have a session.'
    ui.id.textContent = session.id.slice(0, 8)
    setTime(ui.started, session.createdAt, dayAndTime)
    setTime(ui.deadline, session.expiresAt, timeOnly)
    deadline = Date.parse(session.expiresAt)
    setButtons(true)
    tick()
  }

  function showNoSession(summary) {
    document.body.dataset.session = 'none'
    ui.summary.textContent = summary
    ui.id.textContent = '—'
    blank(ui.started)
    blank(ui.deadline)
    ui.countdown.textContent = '—'
    deadline = 0
    setButtons(false)
  }

  function setButtons(live) {
    ui.use.disabled = !live
    ui.end.disabled = !live
    ui.start.hidden = live
  }

  function tick() {
    if (deadline === 0) {
      return
    }
    const left = Math.ceil((deadline - Date.now()) / 1000)
    if (left <= 0) {
      showNoSession('Your session ended after a period without use.')
      say('Your session has expired.')
      return
    }
    const seconds = String(left % 60).padStart(2, '0')
    ui.countdown.textContent = Math.floor(left / 60) + ':' + seconds + ' left'
  }

  async function busy(work) {
    for (const button of [ui.use, ui.end, ui.start]) {
      button.disabled = true
    }
    document.body.setAttribute('aria-busy', 'true')
    try {
      return await work()
    } finally {
      document.body.removeAttribute('aria-busy')
      ui.start.disabled = false
      setButtons(document.body.dataset.session === 'live')
    }
  }

  function refused(reply) {
    if (reply.status === 401) {
      showNoSession('You have no session.')
    }
    say(problemText(reply))
  }

  async function start() {
    const reply = await call('POST', '/v1/sessions')
    if (reply.status !== 200 && reply.status !== 201) {
      showNoSession('You have no session.')
      say(problemText(reply))
      return false
    }
    showSession(reply.body.session)
    const created = reply.status === 201
    say(created ? 'A new session has started.' : 'Welcome back: your session continues.')
    return true
  }

  async function use() {
    const reply = await call('GET', '/v1/session')
    if (reply.status !== 200) {
      refused(reply)
      return
    }
    showSession(reply.body.session)
    say('Session used: it now ends at ' + ui.deadline.textContent + ' if unused.')
  }

  async function end() {
    const reply = await call('DELETE', '/v1/session')
    if (reply.status !== 204) {
      refused(reply)
      return
    }
    showNoSession('You have no session.')
    say('Session ended. Its cookie has been cleared.')
  }

  ui.use.addEventListener('click', () => busy(use))
  ui.end.addEventListener('click', async () => {
    await busy(end)
    if (document.body.dataset.session !== 'live') {
      ui.start.focus()
    }
  })
  ui.start.addEventListener('click', async () => {
    if (await busy(start)) {
      ui.use.focus()
    }
  })
  setInterval(tick, 1000)
  busy(start)
})()
`
