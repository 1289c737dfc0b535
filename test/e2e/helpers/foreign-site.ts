/**
 * Another origin on loopback for forgery cases: a page whose form posts to the session API.
 * Reached as http://localhost:<port> it is the same site as the API (cookies ignore ports), so a
 * browser sends the SameSite=Lax cookie with it; as http://127.0.0.1:<port> it is another site.
 */
import { createServer } from 'node:http'

export type ForeignSite = { close: () => Promise<void> }

/**
 * Serves the forging page on 127.0.0.1:`port`; `target` is the API's origin.
 * @example const site = await serveForeignSite(8857, 'http://localhost:8851')
 */
export async function serveForeignSite(port: number, target: string): Promise<ForeignSite> {
  const page = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Elsewhere</title></head>',
    `<body><form method="post" action="${target}/v1/sessions">`,
    '<button id="forge" type="submit">Win a prize</button></form></body></html>',
  ].join('')
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      res.end('not here')
      return
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end(page)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
