// A real browser for page tests: Debian's Chromium driven by playwright-core (no browser is
// downloaded). Every request a page makes is checked: anything that is not for the gateway
// under test is blocked and recorded, so a test can assert that nothing left the machine. A
// failing test leaves a full-page screenshot in test-results/screenshots/.
//
//   const browser = useBrowser();
//   it('…', async () => {
//     const { page, outside } = await browser.open(ctx.gw.url, 'graphiql');
//     await page.goto(`${ctx.gw.url}/graphql`);
//     expect(outside).toEqual([]);
//   });
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { ROOT } from './process.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Browser suites run when Chromium is installed. CI (`.ci/run` sets REQUIRE_BROWSER=1 and
 * installs it) must not skip them silently, so there a missing browser fails the suite.
 */
export const browserAvailable = existsSync(CHROMIUM_PATH) || process.env.REQUIRE_BROWSER === '1';

/** Flags for a headless Chromium on a machine with no outside network (and as root). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'screenshots');

export interface OpenedPage {
  page: Page;
  /** Every request (HTTP or WebSocket) the page tried to send anywhere but the gateway; blocked. */
  outside: string[];
  /** Console errors and uncaught page errors, for assertions and failure messages. */
  errors: string[];
}

export interface BrowserFixture {
  /**
   * A fresh browser context (no storage shared with other tests) at 1280×800, closed when the
   * test ends; requests to any origin but `baseUrl`'s are blocked and recorded.
   */
  open(baseUrl: string, name: string, viewport?: { width: number; height: number }): Promise<OpenedPage>;
}

/** Launches one Chromium for the test file (beforeAll) and closes it afterwards. */
export function useBrowser(): BrowserFixture {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  return {
    async open(baseUrl, name, viewport = { width: 1280, height: 800 }) {
      if (!browser) throw new Error('the browser is only available inside tests');
      const origin = new URL(baseUrl);
      const ours = (url: string) => {
        const u = new URL(url);
        if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
        return u.hostname === origin.hostname && u.port === origin.port;
      };
      const context = await browser.newContext({ viewport });
      const outside: string[] = [];
      const errors: string[] = [];
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (ours(url)) return route.continue();
        outside.push(url);
        return route.abort('blockedbyclient');
      });
      const page = await context.newPage();
      page.on('websocket', (ws) => {
        if (!ours(ws.url().replace(/^ws/, 'http'))) outside.push(ws.url());
      });
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      // One hook for both: vitest runs onTestFinished before onTestFailed, so a context closed
      // in the first could no longer be photographed in the second.
      onTestFinished(async ({ task }) => {
        if (task.result?.state === 'fail') {
          mkdirSync(SCREENSHOT_DIR, { recursive: true });
          // Both database projects run at once: each gets its own file.
          const project = process.env.TEST_DB_KIND === 'postgres' ? '.postgres' : '';
          await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}${project}.png`), fullPage: true }).catch(() => {});
        }
        await context.close();
      });
      return { page, outside, errors };
    },
  };
}
