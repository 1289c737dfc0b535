/**
 * The page at `/` and its three assets. The HTML is never cached and carries a CSP that lets it
 * load only our own script and style and talk only to our own origin. The page needs no session
 * to render; its script starts or resumes one through the public API.
 */
import { Hono } from 'hono'
import { etag } from 'hono/etag'
import { secureHeaders } from 'hono/secure-headers'
import { loadConfig } from '../config'
import type { AppEnv } from '../http/context'
import { problem } from '../http/problem'
import { PAGE_SCRIPT } from './script'
import { PAGE_ICON, PAGE_STYLE } from './style'
import { renderPage } from './view'

/**
 * The page's Content-Security-Policy: our own script and style, fetch to our own origin only,
 * nothing inline, no framing, no plugins, forms nowhere.
 */
export const PAGE_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
}

/**
 * Routes for `/` and its assets `/page.js`, `/page.css`, `/page.svg`, with hono's secure headers.
 * @example app.route('/', pageRoutes())
 */
export function pageRoutes(): Hono<AppEnv> {
  const page = new Hono<AppEnv>()

  // note: no-referrer would make Chromium send `Origin: null` on the page's own DELETE and POST
  // (Fetch standard, "serializing a request origin"), which the origin check refuses.
  page.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: PAGE_CSP,
      referrerPolicy: 'same-origin',
      xFrameOptions: 'DENY',
    })
  )

  page.get('/', (c) => {
    c.header('Cache-Control', 'no-store')
    return c.html(renderPage(loadConfig(c.env)))
  })
  page.get('/page.js', etag(), (c) => c.body(PAGE_SCRIPT, 200, assetHeaders('text/javascript')))
  page.get('/page.css', etag(), (c) => c.body(PAGE_STYLE, 200, assetHeaders('text/css')))
  page.get('/page.svg', etag(), (c) => c.body(PAGE_ICON, 200, assetHeaders('image/svg+xml')))

  for (const path of ['/', '/page.js', '/page.css', '/page.svg']) {
    page.all(path, () => problem('method_not_allowed'))
  }
  return page
}

/** Assets revalidate on every load, so a deploy never pairs new HTML with an old script. */
function assetHeaders(type: string): Record<string, string> {
  return { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-cache' }
}
