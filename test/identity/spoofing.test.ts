import { describe, expect, it } from 'vitest'
import { bearer, freshIp, harness } from '../helpers/harness'
import { get, post } from './helpers'

/** Each proxy header a client could send to pose as `ip`. Only CF-Connecting-IP counts. */
const SPOOFS: [string, (ip: string) => Record<string, string>][] = [
  ['X-Forwarded-For', (ip) => ({ 'X-Forwarded-For': ip })],
  ['X-Forwarded-For as a chain', (ip) => ({ 'X-Forwarded-For': `${ip}, ${freshIp()}` })],
  ['X-Real-IP', (ip) => ({ 'X-Real-IP': ip })],
  ['True-Client-IP', (ip) => ({ 'True-Client-IP': ip })],
  ['Forwarded', (ip) => ({ Forwarded: `for=${ip};proto=https` })],
  ['Forwarded with a quoted IPv6', () => ({ Forwarded: 'for="[2001:db8::1]"' })],
  [
    'all of them at once',
    (ip) => ({
      'X-Forwarded-For': ip,
      'X-Real-IP': ip,
      'True-Client-IP': ip,
      Forwarded: `for=${ip}`,
    }),
  ],
]

describe('Security: proxy headers never change identity', () => {
  it.each(SPOOFS)('%s does not take over another address’s session (mode ip)', async (_, spoof) => {
    const h = harness()
    const victim = freshIp()
    const owned = await post(h, victim)
    const attacker = freshIp()
    const posed = await post(h, attacker, spoof(victim))
    expect(posed.status).toBe(201)
    expect(posed.id).not.toBe(owned.id)
    expect(await get(h, attacker, spoof(victim))).toMatchObject({ status: 200, id: posed.id })
  })

  it.each(SPOOFS)('%s does not let a stolen token pass the binding', async (_, spoof) => {
    const h = harness()
    const victim = freshIp()
    const { token } = await post(h, victim)
    const thief = await get(h, freshIp(), { ...bearer(token!), ...spoof(victim) })
    expect(thief).toMatchObject({ status: 401, code: 'client_changed' })
  })

  it.each(SPOOFS)('%s does not move a client away from its own address', async (_, spoof) => {
    const h = harness()
    const ip = freshIp()
    const elsewhere = freshIp()
    const first = await post(h, ip, spoof(elsewhere))
    expect(await post(h, ip)).toMatchObject({ status: 200, id: first.id })
    expect(await get(h, ip, { ...bearer(first.token!), ...spoof(elsewhere) })).toMatchObject({
      status: 200,
      id: first.id,
    })
    expect(await get(h, elsewhere)).toMatchObject({ status: 401, code: 'session_not_found' })
  })

  it.each(SPOOFS)('%s does not stand in for a missing CF-Connecting-IP', async (_, spoof) => {
    const h = harness()
    expect(await post(h, null, spoof(freshIp()))).toMatchObject({
      status: 400,
      code: 'client_ip_missing',
    })
  })
})
