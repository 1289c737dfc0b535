import { describe, expect, it } from 'vitest'
import { bearer, freshIp, harness } from '../helpers/harness'
import { get, post, storedRow } from './helpers'

const IDLE = 1800
/** A second secret of the minimum length, for rotation cases. */
const OTHER_SECRET = 'identity-test-secret-b-0123456789abcdef'

describe('IDENTIFY_BY=ip (the default): the address is the identity', () => {
  it('gives a plain client the same session on every request, POST and tokenless GET', async () => {
    const h = harness()
    const ip = freshIp()
    const first = await post(h, ip)
    expect(first.status).toBe(201)
    const seen = []
    for (let i = 0; i < 3; i++) {
      h.now += 300
      seen.push(await post(h, ip), await get(h, ip))
    }
    for (const reply of seen) {
      expect(reply).toMatchObject({ status: 200, id: first.id })
      expect(reply.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    }
  })

  it('returns a usable token with a tokenless GET, in the body and Session-Token', async () => {
    const h = harness()
    const ip = freshIp()
    const { id } = await post(h, ip)
    const response = await h.fetch('/v1/session', { ip })
    const body = await response.json<{ token: string; client: Record<string, string> }>()
    expect(body.client).toEqual({ identifyBy: 'ip', ipBinding: 'strict' })
    expect(response.headers.get('Session-Token')).toBe(body.token)
    expect(await get(h, ip, bearer(body.token))).toMatchObject({ status: 200, id })
  })

  it('shares one session between clients behind one address', async () => {
    const h = harness()
    const ip = freshIp()
    const browser = await post(h, ip)
    const curl = await post(h, ip)
    const app = await get(h, ip)
    const browserAgain = await get(h, ip, { Cookie: `__Host-session=${browser.token}` })
    expect(new Set([browser.id, curl.id, app.id, browserAgain.id]).size).toBe(1)
  })

  it('gives each address its own session', async () => {
    const h = harness()
    const a = await post(h, freshIp())
    const b = await post(h, freshIp())
    expect(a.status).toBe(201)
    expect(b.status).toBe(201)
    expect(b.id).not.toBe(a.id)
  })

  it('answers a tokenless GET from an address without a session with session_not_found', async () => {
    const h = harness()
    const response = await h.fetch('/v1/session', { ip: freshIp() })
    expect(response.status).toBe(401)
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="edge-sessions"')
    expect(await response.json()).toMatchObject({ code: 'session_not_found' })
  })

  it('starts a new session for the address once its session has expired', async () => {
    const h = harness()
    const ip = freshIp()
    const first = await post(h, ip)
    h.now += IDLE
    expect(await get(h, ip)).toMatchObject({ status: 401, code: 'session_not_found' })
    const next = await post(h, ip)
    expect(next.status).toBe(201)
    expect(next.id).not.toBe(first.id)
  })

  it('lets a plain client end its session with a tokenless DELETE', async () => {
    const h = harness()
    const ip = freshIp()
    const first = await post(h, ip)
    expect((await h.fetch('/v1/session', { method: 'DELETE', ip })).status).toBe(204)
    expect(await get(h, ip)).toMatchObject({ status: 401, code: 'session_not_found' })
    expect(await get(h, ip, bearer(first.token!))).toMatchObject({ code: 'session_revoked' })
  })

  it('finds a session started under the previous secret during a rotation', async () => {
    const ip = freshIp()
    const before = harness()
    const first = await post(before, ip)
    const rotating = harness({
      SESSION_SECRET: OTHER_SECRET,
      SESSION_SECRET_PREVIOUS: before.env.SESSION_SECRET,
    })
    expect(await post(rotating, ip)).toMatchObject({ status: 200, id: first.id })
    expect(await get(rotating, ip)).toMatchObject({ status: 200, id: first.id })
    expect(await get(rotating, ip, bearer(first.token!))).toMatchObject({
      status: 200,
      id: first.id,
    })
  })
})

describe('IDENTIFY_BY=token: every client without a token gets its own session', () => {
  it('starts a new session for every tokenless start, even from one address', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const replies = [await post(h, ip), await post(h, ip), await post(h, ip)]
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201])
    expect(new Set(replies.map((r) => r.id)).size).toBe(3)
  })

  it('records the client key of each session without using it to find one', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const a = await storedRow((await post(h, ip)).id!)
    const b = await storedRow((await post(h, ip)).id!)
    const other = await storedRow((await post(h, freshIp())).id!)
    expect(a.client_key_hash).toMatch(/^[\w-]{43}$/)
    expect(b.client_key_hash).toBe(a.client_key_hash)
    expect(other.client_key_hash).not.toBe(a.client_key_hash)
  })

  it('answers tokenless GET and DELETE with token_missing, even when the address has sessions', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    await post(h, ip)
    expect(await get(h, ip)).toMatchObject({ status: 401, code: 'token_missing' })
    const ended = await h.fetch('/v1/session', { method: 'DELETE', ip })
    expect(ended.status).toBe(401)
    expect(await ended.json()).toMatchObject({ code: 'token_missing' })
  })

  it('resumes a session only by its live token', async () => {
    const h = harness({ IDENTIFY_BY: 'token' })
    const ip = freshIp()
    const first = await post(h, ip)
    await post(h, ip)
    expect(await post(h, ip, bearer(first.token!))).toMatchObject({ status: 200, id: first.id })
    expect(await get(h, ip, bearer(first.token!))).toMatchObject({ status: 200, id: first.id })
  })
})
