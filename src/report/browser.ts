import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { VigilInputError } from '../core/errors.js';

/**
 * Headless Chromium for PDF output (and the browser tests): the system's Chromium driven by
 * playwright-core, which never downloads a browser of its own.
 */

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The Chromium executable: $VIGIL_CHROMIUM when set, else the first of the usual system paths. */
export function findChromium(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = CANDIDATES): string {
  const configured = env.VIGIL_CHROMIUM;
  if (configured !== undefined && configured !== '') {
    if (!existsSync(configured)) {
      throw new VigilInputError(`VIGIL_CHROMIUM names ${configured}, which does not exist; point it at a Chromium or Chrome executable`, {
        subject: 'VIGIL_CHROMIUM',
      });
    }
    return configured;
  }
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new VigilInputError(
      `PDF output needs Chromium and none was found (looked for ${candidates.join(', ')}). Install it (Debian/Ubuntu: apt-get install chromium) or set VIGIL_CHROMIUM to its executable.`,
      { subject: 'VIGIL_CHROMIUM' },
    );
  }
  return found;
}

/**
 * Flags for a sandboxed CI machine without network: no GPU, and none of Chromium's own background
 * connections (component updates, sync, QUIC probes), which would otherwise be refused at start.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh, throw-away profile. Always close() it. */
export async function openBrowser(): Promise<BrowserSession> {
  const executablePath = findChromium();
  const userDataDir = await mkdtemp(join(tmpdir(), 'vigil-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath, args: ARGS, headless: true });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new VigilInputError(`Chromium at ${executablePath} failed to start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, {
      cause: error,
    });
  }
  return {
    context,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
