/**
 * The session page in Debian's Chromium against the real `npm start` server.
 *
 * Each test is a client of its own: its browser contexts send a documentation-range
 * CF-Connecting-IP, the header Cloudflare's edge sets in production and wrangler dev passes
 * through. Two contexts given the same address are two browsers behind one NAT.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from './helpers/chromium'
import { serveForeignSite, type ForeignSite } from './helpers/foreign-site'
import { startServer, type Server } from './helpers/server'

const IP_MODE_PORT = 8851
const TOKEN_MODE_PORT = 8853
const FOREIGN_PORT = 8857
const IDLE_SECONDS = 1800
const COOKIE = '__Host-session'
const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1280, height: 800 }

let ipServer: Server
let tokenServer: Server
let foreign: ForeignSite
let browser: Browser
let lastOctet = 0

beforeAll(async () => {
  ipServer = await startServer({ port: IP_MODE_PORT })
  tokenServer = await startServer({ port: TOKEN_MODE_PORT, vars: { IDENTIFY_BY: 'token' } })
  foreign = await serveForeignSite(FOREIGN_PORT, ipServer.url)
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await foreign?.close()
  await Promise.all([ipServer?.stop(), tokenServer?.stop()])
})

function newAddress(): string {
  lastOctet++
  return `203.0.113.${lastOctet}`
}

type Client = { context: BrowserContext; page: Page; errors: string[] }

async function newClient(ip: string, viewport = PHONE): Promise<Client> {
  const context = await browser.newContext({
    viewport,
    extraHTTPHeaders: { 'CF-Connecting-IP': ip },
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') {
      errors.push(message.text())
    }
  })
  page.on('pageerror', (error) => errors.push(error.message))
  return { context, page, errors }
}

async function statusSays(page: Page, text: string): Promise<void> {
  await page.locator('#status', { hasText: text }).waitFor()
}

async function shown(page: Page) {
  return {
    state: await page.locator('body').getAttribute('data-session'),
    summary: await page.locator('#session-summary').textContent(),
    id: await page.locator('#session-id').textContent(),
    started: await page.locator('#session-started').getAttribute('datetime'),
    deadline: await page.locator('#session-deadline').getAttribute('datetime'),
    countdown: await page.locator('#session-countdown').textContent(),
  }
}

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((cookie) => cookie.name === COOKIE)
}

function claimsOf(token: string): { sub: string; exp: number } {
  const payload = token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/')
  return JSON.parse(atob(payload)) as { sub: string; exp: number }
}

// note: code that runs in the page is passed as a string: the project type-checks against the
// Workers types, which have no DOM.
async function focusedId(page: Page): Promise<string | undefined> {
  return page.evaluate<string | undefined>('document.activeElement?.id')
}

describe('the session page in Chromium', () => {
  it('shows a new session on the first visit, held in an HttpOnly __Host- cookie', async () => {
    const { context, page, errors } = await newClient(newAddress())
    await page.goto(ipServer.url)
    await statusSays(page, 'A new session has started.')
    const view = await shown(page)
    expect(view.state).toBe('live')
    expect(view.summary).toBe('You have a session.')
    expect(view.id).toMatch(/^[A-Za-z0-9_-]{8}$/)
    expect(view.countdown).toMatch(/^(29|30):\d\d left$/)

    const cookie = await sessionCookie(context)
    expect(cookie).toMatchObject({
      domain: 'localhost',
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    })
    const claims = claimsOf(cookie!.value)
    expect(claims.sub.slice(0, 8)).toBe(view.id)
    expect(new Date(view.deadline!).getTime()).toBe(claims.exp * 1000)
    expect(Math.abs(cookie!.expires - claims.exp)).toBeLessThan(60)

    expect(await page.evaluate<string>('document.cookie')).toBe('')
    expect(await page.content()).not.toContain(cookie!.value.split('.')[1]!)
    expect(await page.locator('#identify-by').getAttribute('data-mode')).toBe('ip')
    expect(await page.locator('#ip-binding').getAttribute('data-binding')).toBe('strict')
    expect(await page.content()).not.toContain('203.0.113.')
    expect(errors).toEqual([])
    await context.close()
  })

  it('keeps the same session across a reload', async () => {
    const { context, page, errors } = await newClient(newAddress())
    await page.goto(ipServer.url)
    await statusSays(page, 'A new session has started.')
    const first = await shown(page)
    await page.reload()
    await statusSays(page, 'Welcome back: your session continues.')
    const again = await shown(page)
    expect(again.id).toBe(first.id)
    expect(again.started).toBe(first.started)
    expect(errors).toEqual([])
    await context.close()
  })

  it('moves the idle deadline when the use button is pressed from the keyboard', async () => {
    const { context, page, errors } = await newClient(newAddress())
    await page.goto(ipServer.url)
    await statusSays(page, 'A new session has started.')
    const before = await shown(page)
    const cookieBefore = (await sessionCookie(context))!.value
    const lastSeenMs = Date.parse(before.deadline!) - IDLE_SECONDS * 1000
    await expect.poll(() => Date.now(), { interval: 100 }).toBeGreaterThan(lastSeenMs + 1000)

    await page.keyboard.press('Tab')
    expect(await focusedId(page)).toBe('use-session')
    await page.keyboard.press('Enter')
    await statusSays(page, 'Session used')

    const after = await shown(page)
    expect(after.id).toBe(before.id)
    expect(Date.parse(after.deadline!)).toBeGreaterThan(Date.parse(before.deadline!))
    expect(after.countdown).toMatch(/^(29|30):\d\d left$/)
    const cookieAfter = (await sessionCookie(context))!.value
    expect(cookieAfter).not.toBe(cookieBefore)
    expect(claimsOf(cookieAfter).exp * 1000).toBe(Date.parse(after.deadline!))
    expect(errors).toEqual([])
    await context.close()
  })

  it('ends the session: the cookie is gone, the page says so, the server refuses the token', async () => {
    const ip = newAddress()
    const { context, page, errors } = await newClient(ip)
    await page.goto(ipServer.url)
    await statusSays(page, 'A new session has started.')
    const ended = await shown(page)
    const token = (await sessionCookie(context))!.value

    await page.getByRole('button', { name: 'End session' }).focus()
    await page.keyboard.press('Enter')
    await statusSays(page, 'Session ended. Its cookie has been cleared.')
    expect(await sessionCookie(context)).toBeUndefined()
    expect(await shown(page)).toMatchObject({
      state: 'none',
      summary: 'You have no session.',
      id: '—',
      deadline: null,
    })
    expect(await page.getByRole('button', { name: 'Use session' }).isDisabled()).toBe(true)
    expect(await focusedId(page)).toBe('start-session')

    const refused = await fetch(`${ipServer.url}/v1/session`, {
      headers: { Authorization: `Bearer ${token}`, 'CF-Connecting-IP': ip },
    })
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ code: 'session_revoked' })

    await page.keyboard.press('Enter')
    await statusSays(page, 'A new session has started.')
    expect((await shown(page)).id).not.toBe(ended.id)
    expect(errors).toEqual([])
    await context.close()
  })
})

describe('two browsers on one address', () => {
  async function sessionIdsOf(server: Server): Promise<[string, string, string]> {
    const ip = newAddress()
    const first = await newClient(ip)
    const second = await newClient(ip)
    await first.page.goto(server.url)
    await statusSays(first.page, 'A new session has started.')
    await second.page.goto(server.url)
    await second.page.locator('body[data-session="live"]').waitFor()
    const ids = [
      (await shown(first.page)).id!,
      (await shown(second.page)).id!,
      (await second.page.locator('#status').textContent())!,
    ] as [string, string, string]
    expect([...first.errors, ...second.errors]).toEqual([])
    await Promise.all([first.context.close(), second.context.close()])
    return ids
  }

  it('share one session in identity mode ip', async () => {
    const [first, second, status] = await sessionIdsOf(ipServer)
    expect(second).toBe(first)
    expect(status).toBe('Welcome back: your session continues.')
  })

  it('get sessions of their own in identity mode token', async () => {
    const [first, second, status] = await sessionIdsOf(tokenServer)
    expect(second).not.toBe(first)
    expect(status).toBe('A new session has started.')
  })
})

describe('Security: forged writes from other origins, in Chromium', () => {
  async function forge(page: Page, foreignOrigin: string) {
    await page.goto(foreignOrigin)
    const [response] = await Promise.all([
      page.waitForResponse(`${ipServer.url}/v1/sessions`),
      page.locator('#forge').click(),
    ])
    return response
  }

  it('refuses a cookie POST from another origin of the same site, though the cookie was sent', async () => {
    const { context, page } = await newClient(newAddress())
    await page.goto(ipServer.url)
    await statusSays(page, 'A new session has started.')
    const before = await shown(page)

    const response = await forge(page, `http://localhost:${FOREIGN_PORT}/`)
    expect(response.status()).toBe(403)
    expect(await response.request().headerValue('origin')).toBe(`http://localhost:${FOREIGN_PORT}`)
    expect(await response.request().headerValue('cookie')).toContain(`${COOKIE}=`)
    expect(await response.json()).toMatchObject({ code: 'origin_rejected' })

    await page.goto(`http://localhost:${FOREIGN_PORT}/`)
    const deleted = await page.evaluate<string>(`
      fetch('${ipServer.url}/v1/session', { method: 'DELETE', credentials: 'include' }).then(
        (reply) => 'answered ' + reply.status,
        () => 'blocked by CORS'
      )`)
    expect(deleted).toBe('blocked by CORS')

    await page.goto(ipServer.url)
    await statusSays(page, 'Welcome back: your session continues.')
    expect((await shown(page)).id).toBe(before.id)
    await context.close()
  })

  it('does not send the SameSite=Lax cookie from another site, and refuses the POST', async () => {
    const { context, page } = await newClient(newAddress())
    await page.goto(ipServer.url)
    await statusSays(page, 'A new session has started.')

    const response = await forge(page, `http://127.0.0.1:${FOREIGN_PORT}/`)
    expect(response.status()).toBe(403)
    expect(await response.request().headerValue('origin')).toBe(`http://127.0.0.1:${FOREIGN_PORT}`)
    expect(await response.request().headerValue('cookie')).toBeNull()
    await context.close()
  })
})

describe('layout', () => {
  it.each([
    ['a phone', PHONE, 'page.png'],
    ['a desktop', DESKTOP, 'page-desktop.png'],
  ])('fits %s without sideways scrolling (screenshot in test-output/)', async (_, size, file) => {
    const { context, page } = await newClient(newAddress(), size)
    await page.goto(ipServer.url)
    await statusSays(page, 'A new session has started.')
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth'
    )
    expect(overflow).toBe(0)
    for (const name of ['Use session', 'End session']) {
      const box = await page.getByRole('button', { name }).boundingBox()
      expect(box!.height).toBeGreaterThanOrEqual(44)
    }
    await mkdir('test-output', { recursive: true })
    await page.screenshot({ path: join('test-output', file), fullPage: true })
    await context.close()
  })
})
