/**
 * Debian's Chromium driven by playwright-core, which never downloads a browser of its own.
 *
 * `chromium.launch()` rather than `launchPersistentContext()`: launch() starts Chromium on a
 * fresh temporary profile that playwright creates with mkdtemp and removes on close (it refuses a
 * `--user-data-dir` in `args` for that reason), and it gives isolated browser contexts, each with
 * a cookie jar of its own, which the "second browser" cases need; a persistent context has one.
 */
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** The project's Chromium flags: headless, no sandbox (root in CI), nothing that calls home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Launches Chromium; close it with `browser.close()`.
 * @example const browser = await launchChromium()
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
}
