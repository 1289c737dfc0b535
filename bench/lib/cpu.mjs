// CPU time used by a process and all its descendants, from /proc (Linux). Other work on the
// machine does not count here, so CPU per request stays comparable on a busy machine where
// requests per second do not.
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux we run on. */
const CLOCK_TICKS_PER_SECOND = 100

function readStats() {
  const stats = new Map()
  let entries
  try {
    entries = readdirSync('/proc')
  } catch {
    return undefined
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) {
      continue
    }
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'))
      stats.set(Number(entry), {
        name,
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
      })
    } catch {}
  }
  return stats
}

/**
 * CPU seconds used so far by `rootPid` and its descendants, in total and by process name;
 * `{ total: undefined }` where /proc cannot be read.
 */
export function treeCpu(rootPid) {
  const stats = readStats()
  if (stats === undefined) {
    return { total: undefined, byName: {} }
  }
  const children = new Map()
  for (const [pid, s] of stats) {
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid])
  }
  const byName = {}
  let total = 0
  const stack = [rootPid]
  while (stack.length > 0) {
    const pid = stack.pop()
    const s = stats.get(pid)
    if (s !== undefined) {
      const seconds = s.ticks / CLOCK_TICKS_PER_SECOND
      byName[s.name] = (byName[s.name] ?? 0) + seconds
      total += seconds
    }
    stack.push(...(children.get(pid) ?? []))
  }
  return { total, byName }
}
