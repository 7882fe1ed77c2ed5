import { existsSync } from 'node:fs';

/** Debian's Chromium; playwright-core downloads no browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here (no Chromium), or null. Under CI=true they are
 * required, so a missing Chromium fails them instead.
 */
export const noChromium: string | null =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM}: apt-get install chromium (as .ci/run does), or set CHROMIUM_PATH, to run the browser tests`
    : null;
