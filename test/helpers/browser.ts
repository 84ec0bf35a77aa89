// Debian's Chromium, driven by playwright-core, as a person's browser opening a report: headless,
// with a fresh profile, none of Chromium's own background traffic, and every request recorded.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const LAUNCH_TIMEOUT_MS = 30_000;

export interface OpenBrowser {
  readonly context: BrowserContext;
  /** A new page whose console errors, page errors and requests are recorded. */
  page(viewport?: { width: number; height: number }): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  readonly page: Page;
  /** Console messages of type error, and uncaught page errors. */
  readonly errors: string[];
  /** The URL of every request the page made. */
  readonly requests: string[];
}

export async function openBrowser(): Promise<OpenBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'endpoint-guard-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: ARGS, timeout: LAUNCH_TIMEOUT_MS, offline: true,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(/ENOENT|doesn't exist|no such file/i.test(message)
      ? `Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (.ci/run installs it when it is missing)`
      : `Chromium at ${CHROMIUM} did not start: ${message}`);
  }
  return {
    context,
    async page(viewport = { width: 1280, height: 900 }) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('request', (r) => requests.push(r.url()));
      return { page, errors, requests };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
