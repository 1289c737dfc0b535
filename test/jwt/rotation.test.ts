import { env } from 'cloudflare:workers'
import { jwtVerify } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { importRingKey } from '../../src/jwt/keys'
import {
  bearer,
  claimsOf,
  freshIp,
  harness,
  startSession,
  T0,
  type Harness,
} from '../helpers/harness'
import { craft, headerOf } from './craft'

/** The test secret every harness uses by default: the key before the rotation. */
const A = env.SESSION_SECRET!
/** The key after the rotation. */
const B = 'rotation-secret-b-0123456789abcdef0123'
/** A key the service never held. */
const C = 'rotation-secret-c-0123456789abcdef0123'
const IDLE = 1800

let kidA: string
let kidB: string

beforeAll(async () => {
  kidA = (await importRingKey(A)).kid
  kidB = (await importRingKey(B)).kid
})

const rotating = (now: number) => harness({ SESSION_SECRET: B, SESSION_SECRET_PREVIOUS: A }, now)
const rotated = (now: number) => harness({ SESSION_SECRET: B }, now)

async function get(h: Harness, ip: string, token: string) {
  const response = await h.fetch('/v1/session', { ip, headers: bearer(token) })
  const body = await response.json<{ code?: string; token?: string; session?: { id: string } }>()
  return { status: response.status, body }
}

describe('key rotation: SESSION_SECRET_PREVIOUS', () => {
  it('tokens carry the kid of the key that signed them', async () => {
    const { token } = await startSession(harness(), freshIp())
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'JWT', kid: kidA })
    expect(kidA).not.toBe(kidB)
  })

  it('verifies a token of the previous key and re-issues it under the current kid', async () => {
    const ip = freshIp()
    const started = await startSession(harness(), ip)
    const { status, body } = await get(rotating(T0 + 60), ip, started.token)
    expect(status).toBe(200)
    expect(body.session!.id).toBe(started.session.id)
    expect(headerOf(body.token!).kid).toBe(kidB)
    expect(claimsOf(body.token!)).toMatchObject({ sub: started.session.id, iat: T0 + 60 })
    const { payload } = await jwtVerify(body.token!, new TextEncoder().encode(B), {
      currentDate: new Date((T0 + 60) * 1000),
    })
    expect(payload.sub).toBe(started.session.id)
  })

  it.each(['fast', 'strict'])(
    'REVOCATION=%s: re-issues a previous-key token on first use even when no slide is due',
    async (revocation) => {
      const ip = freshIp()
      const settings = { REFRESH_AFTER_SECONDS: '300', REVOCATION: revocation }
      const started = await startSession(harness(settings), ip)
      const h = harness({ ...settings, SESSION_SECRET: B, SESSION_SECRET_PREVIOUS: A }, T0 + 5)
      const { status, body } = await get(h, ip, started.token)
      expect(status).toBe(200)
      expect(headerOf(body.token!).kid).toBe(kidB)
      expect(claimsOf(body.token!).exp).toBe(claimsOf(started.token).exp)
      const again = await get(h, ip, body.token!)
      expect(again.body.token).toBe(body.token)
    }
  )

  it('signs new sessions with the current key during a rotation', async () => {
    const { token } = await startSession(rotating(T0), freshIp())
    expect(headerOf(token).kid).toBe(kidB)
  })

  it('keeps the session going once the rotation ends, on the re-issued token', async () => {
    const ip = freshIp()
    const started = await startSession(harness(), ip)
    const during = await get(rotating(T0 + 60), ip, started.token)
    const after = await get(rotated(T0 + 120), ip, during.body.token!)
    expect(after.status).toBe(200)
    expect(after.body.session!.id).toBe(started.session.id)
    expect(headerOf(after.body.token!).kid).toBe(kidB)
  })

  it('lets D1 decide an expired token of the previous key, and re-issues under the current one', async () => {
    const before = harness()
    const ip = freshIp()
    const started = await startSession(before, ip)
    before.now = T0 + 1000
    expect((await get(before, ip, started.token)).status).toBe(200)
    const { status, body } = await get(rotating(T0 + IDLE + 10), ip, started.token)
    expect(status).toBe(200)
    expect(body.session!.id).toBe(started.session.id)
    expect(headerOf(body.token!).kid).toBe(kidB)
  })

  it('still binds to the client: a previous-key token from another IP → client_changed', async () => {
    const started = await startSession(harness(), freshIp())
    const { status, body } = await get(rotating(T0 + 60), freshIp(), started.token)
    expect(status).toBe(401)
    expect(body.code).toBe('client_changed')
  })

  it('still binds to the client: the re-issued token from another IP → client_changed', async () => {
    const ip = freshIp()
    const started = await startSession(harness(), ip)
    const during = await get(rotating(T0 + 60), ip, started.token)
    for (const h of [rotating(T0 + 120), rotated(T0 + 120)]) {
      const { status, body } = await get(h, freshIp(), during.body.token!)
      expect(status).toBe(401)
      expect(body.code).toBe('client_changed')
    }
  })

  it('refuses the previous key once SESSION_SECRET_PREVIOUS is removed → token_invalid', async () => {
    const ip = freshIp()
    const started = await startSession(harness(), ip)
    const { status, body } = await get(rotated(T0 + 60), ip, started.token)
    expect(status).toBe(401)
    expect(body.code).toBe('token_invalid')
  })

  it('refuses a token of a key the service never held, under its own kid → token_invalid', async () => {
    const ip = freshIp()
    const started = await startSession(harness(), ip)
    const kidC = (await importRingKey(C)).kid
    const forged = await craft(C, { alg: 'HS256', typ: 'JWT', kid: kidC }, claimsOf(started.token))
    const { status, body } = await get(rotating(T0 + 60), ip, forged)
    expect(status).toBe(401)
    expect(body.code).toBe('token_invalid')
  })

  it('checks a token without kid against the current key only', async () => {
    const ip = freshIp()
    const started = await startSession(harness(), ip)
    const header = { alg: 'HS256', typ: 'JWT' }
    const underA = await craft(A, header, claimsOf(started.token))
    expect((await get(harness({}, T0 + 60), ip, underA)).status).toBe(200)
    const refused = await get(rotating(T0 + 60), ip, underA)
    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe('token_invalid')
  })
})
