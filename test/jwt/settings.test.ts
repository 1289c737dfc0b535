import { afterEach, describe, expect, it, vi } from 'vitest'
import { freshIp, harness } from '../helpers/harness'

afterEach(() => {
  vi.restoreAllMocks()
})

/** A request under `settings` and the log lines it wrote. */
async function attempt(settings: Partial<Env>) {
  const log = vi.spyOn(console, 'log')
  const response = await harness(settings).fetch('/v1/sessions', {
    method: 'POST',
    ip: freshIp(),
  })
  const lines = log.mock.calls.map((call) => call.join(' '))
  log.mockRestore()
  return { response, text: await response.text(), lines }
}

const SECRET_31 = 'x'.repeat(31)
const SECRET_30_IN_10_CHARACTERS = '€'.repeat(10)

describe('a secret under 32 bytes refuses to run', () => {
  it.each([
    ['SESSION_SECRET', '31 ASCII bytes', SECRET_31],
    ['SESSION_SECRET', '10 characters but 30 UTF-8 bytes', SECRET_30_IN_10_CHARACTERS],
    ['SESSION_SECRET', 'empty', ''],
    ['SESSION_SECRET', 'missing', undefined],
    ['SESSION_SECRET_PREVIOUS', '31 ASCII bytes', SECRET_31],
    ['SESSION_SECRET_PREVIOUS', '30 UTF-8 bytes', SECRET_30_IN_10_CHARACTERS],
  ])(
    '%s %s → 500 configuration_error, the log names it, never its value',
    async (name, _, value) => {
      const { response, text, lines } = await attempt({ [name]: value })
      expect(response.status).toBe(500)
      expect(JSON.parse(text)).toMatchObject({ code: 'configuration_error', status: 500 })
      const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(events).toContainEqual(
        expect.objectContaining({ event: 'configuration_error', setting: name })
      )
      for (const leaked of [value, SECRET_31.slice(0, 8), '€€']) {
        if (leaked) {
          expect(lines.join('\n')).not.toContain(leaked)
          expect(text).not.toContain(leaked)
        }
      }
    }
  )

  it.each([
    ['32 ASCII bytes', 'x'.repeat(32)],
    ['11 characters, 33 UTF-8 bytes', '€'.repeat(11)],
  ])('accepts a secret of %s', async (_, value) => {
    const { response } = await attempt({ SESSION_SECRET: value, SESSION_SECRET_PREVIOUS: value })
    expect(response.status).toBe(201)
  })
})

describe('CLOCK_SKEW_SECONDS outside 0..300 or not a whole number refuses to run', () => {
  it.each([
    '-1',
    '301',
    'abc',
    '1.5',
    '1e2',
    '0x10',
    'NaN',
    'Infinity',
    '+5',
    '1_0',
    '99999999999',
  ])(
    'CLOCK_SKEW_SECONDS=%j → 500 configuration_error, the log names the setting',
    async (value) => {
      const { response, text, lines } = await attempt({ CLOCK_SKEW_SECONDS: value })
      expect(response.status).toBe(500)
      expect(JSON.parse(text)).toMatchObject({ code: 'configuration_error' })
      const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(events).toContainEqual(
        expect.objectContaining({ event: 'configuration_error', setting: 'CLOCK_SKEW_SECONDS' })
      )
    }
  )

  it.each(['0', '300', ' 60 '])('accepts CLOCK_SKEW_SECONDS=%j', async (value) => {
    const { response } = await attempt({ CLOCK_SKEW_SECONDS: value })
    expect(response.status).toBe(201)
  })
})
