// Drives the dashboard page (/dashboard) in the test browser: opening it with every URL it
// requests recorded, signing in, and reading the list, the feed and the tiles back.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { BrowserFixture, OpenedPage } from './browser.js';
import type { TestGateway } from './gateway.js';

export interface DashboardPage extends OpenedPage {
  /** Every URL the page asked for: navigations, subresources, fetches and WebSockets. */
  urls: string[];
}

/** Opens /dashboard of `baseUrl` in a fresh browser context; `beforeLoad` runs before the page does. */
export async function openDashboard(
  browser: BrowserFixture,
  baseUrl: string,
  name: string,
  viewport?: { width: number; height: number },
  beforeLoad?: (page: Page) => Promise<void>,
): Promise<DashboardPage> {
  const opened = await browser.open(baseUrl, name, viewport);
  await beforeLoad?.(opened.page);
  const urls: string[] = [];
  opened.page.on('request', (request) => urls.push(request.url()));
  opened.page.on('websocket', (ws) => urls.push(ws.url()));
  opened.page.on('framenavigated', (frame) => urls.push(frame.url()));
  await opened.page.goto(`${baseUrl}/dashboard`);
  return { ...opened, urls };
}

/** Signs in with `key` and waits for the list and the live feed. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page
    .locator('.list-summary')
    .filter({ hasText: /customer/ })
    .waitFor();
  await waitForConnection(page, 'connected');
}

/** Waits until the connection indicator shows `state`. */
export async function waitForConnection(
  page: Page,
  state: 'connecting' | 'connected' | 'reconnecting' | 'offline',
  timeout = 10_000,
): Promise<void> {
  await page.locator(`.connection[data-state="${state}"]`).waitFor({ timeout });
}

/** The names in the customer table, top to bottom. */
export function listedNames(page: Page): Promise<string[]> {
  return page.locator('table.customers tbody tr .col-name button').allTextContents();
}

/** Waits until the table shows exactly `names` (in that order). */
export async function waitForList(page: Page, names: string[], timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const table = document.querySelector('table.customers');
      if (!table || table.getAttribute('aria-busy') === 'true') return false;
      const shown = [...table.querySelectorAll('tbody tr .col-name button')].map((b) => b.textContent);
      return JSON.stringify(shown) === JSON.stringify(expected);
    },
    names,
    { timeout },
  );
}

export interface FeedEntry {
  customerId: string;
  kind: string;
  from: string;
  to: string;
}

/** The feed's entries, oldest first (the page shows the newest on top). */
export async function feedEntries(page: Page): Promise<FeedEntry[]> {
  const entries = await page.locator('.feed-item').evaluateAll((items) =>
    items.map((li) => {
      const d = (li as HTMLElement).dataset;
      return { customerId: d.customerId ?? '', kind: d.kind ?? '', from: d.from ?? '', to: d.to ?? '' };
    }),
  );
  return entries.reverse();
}

/** Waits until the feed holds `n` entries. */
export async function waitForFeed(page: Page, n: number, timeout = 10_000): Promise<void> {
  await page.waitForFunction((count) => document.querySelectorAll('.feed-item').length >= count, n, { timeout });
}

/** The count a tile shows (data-count), or null before the first load. */
export async function tileCount(page: Page, machine: 'kyc' | 'aml', status: string): Promise<number | null> {
  const value = await page.locator(`.tile[data-machine="${machine}"][data-status="${status}"]`).getAttribute('data-count');
  return value === null ? null : Number(value);
}

/**
 * The privacy checks of every page test: nothing was requested off the gateway, and the key
 * appears in no URL the page requested nor in the address bar; it is in sessionStorage only.
 */
export async function expectKeyKeptPrivate(opened: DashboardPage, key: string): Promise<void> {
  expect(opened.outside).toEqual([]);
  expect(opened.urls.length).toBeGreaterThan(0);
  expect(opened.urls.filter((url) => url.includes(key) || url.includes(encodeURIComponent(key)))).toEqual([]);
  const where = await opened.page.evaluate(() => ({
    href: location.href,
    local: JSON.stringify({ ...localStorage }),
    cookie: document.cookie,
  }));
  expect(where.href).not.toContain(key);
  expect(where.local).not.toContain(key);
  expect(where.cookie).toBe('');
  expect(await opened.page.context().cookies()).toEqual([]);
}

const TRANSITION_KYC = `mutation T($id: ID!, $to: KycStatus!, $identity: VerifiedIdentityInput) {
  transitionKyc(id: $id, to: $to, identity: $identity) { __typename ... on Error { code message } }
}`;

/** Moves a customer's KYC status through the API (a back-office key); fails unless it moved. */
export async function moveKyc(
  gw: TestGateway,
  key: string,
  id: string,
  to: string,
  identity?: { legalName: string; country: string },
): Promise<void> {
  const res = await gw.gql(key, TRANSITION_KYC, { id, to, identity: identity ?? null });
  if (res.body.data?.transitionKyc?.__typename !== 'TransitionKycSuccess') {
    throw new Error(`transitionKyc ${to}: ${JSON.stringify(res.body)}`);
  }
}

const RECORD_AML = `mutation A($id: ID!, $status: AmlStatus!, $flags: AmlFlagsInput) {
  recordAmlScreening(id: $id, status: $status, flags: $flags) { __typename ... on Error { code message } }
}`;

/** Records an AML step through the API (a back-office key); fails unless it was recorded. */
export async function recordAml(gw: TestGateway, key: string, id: string, status: string, flags?: Record<string, boolean>): Promise<void> {
  const res = await gw.gql(key, RECORD_AML, { id, status, flags: flags ?? null });
  if (res.body.data?.recordAmlScreening?.__typename !== 'RecordAmlScreeningSuccess') {
    throw new Error(`recordAmlScreening ${status}: ${JSON.stringify(res.body)}`);
  }
}
