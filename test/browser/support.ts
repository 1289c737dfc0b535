import { env } from 'cloudflare:workers'

/** The origin the harness serves from. */
export const OWN_ORIGIN = 'https://sessions.example'

export function cookie(token: string, name = '__Host-session'): Record<string, string> {
  return { Cookie: `${name}=${token}` }
}

export type SetCookie = { name: string; value: string; attributes: Map<string, string> }

/** The response's Set-Cookie lines, parsed; attribute names lower-cased, flags map to ''. */
export function setCookies(response: Response): SetCookie[] {
  return response.headers.getAll('Set-Cookie').map((line) => {
    const [pair, ...rest] = line.split(';')
    const eq = pair!.indexOf('=')
    const attributes = new Map<string, string>()
    for (const part of rest) {
      const [key, ...value] = part.trim().split('=')
      attributes.set(key!.toLowerCase(), value.join('='))
    }
    return { name: pair!.slice(0, eq).trim(), value: pair!.slice(eq + 1), attributes }
  })
}

/** The single Set-Cookie of a response; fails the test when there is not exactly one. */
export function onlySetCookie(response: Response): SetCookie {
  const all = setCookies(response)
  if (all.length !== 1) {
    throw new Error(`expected one Set-Cookie, got ${all.length}`)
  }
  return all[0]!
}

/** A KV binding over the real one whose writes fail, for storage-failure cases. */
export function failingWrites(kv: KVNamespace): KVNamespace {
  return failing(kv, (key) => key === 'put')
}

/** A binding over the real one on which every method throws. */
export function failingAll<T extends object>(binding: T): T {
  return failing(binding, () => true)
}

function failing<T extends object>(binding: T, fails: (key: string | symbol) => boolean): T {
  return new Proxy(binding, {
    get(target, key) {
      const value = Reflect.get(target, key, target)
      if (typeof value !== 'function') {
        return value
      }
      if (fails(key)) {
        return () => {
          throw new Error('storage refused by the test')
        }
      }
      return value.bind(target)
    },
  })
}

/** The stored row's idle deadline and revocation, to show a refused request changed nothing. */
export async function storedState(id: string) {
  return env.DB.prepare('SELECT idle_expires_at, revoked_at, data FROM sessions WHERE id = ?1')
    .bind(id)
    .first<{ idle_expires_at: number; revoked_at: number | null; data: string }>()
}
