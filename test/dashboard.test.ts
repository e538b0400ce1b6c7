// The compliance dashboard (/dashboard): how it is served, and the page itself in a real
// browser (Debian's Chromium through playwright-core) against a real gateway and database, the
// live feed over a real graphql-ws connection, cut and refused by a TCP proxy standing in for
// the network. Screenshots of the main views go to test-results/dashboard/<database>/ (and to
// docs/dashboard*.png with UPDATE_DOCS_SCREENSHOT=1); the browser helper adds one per page
// when a test fails.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import axe from 'axe-core';
import { buildSchema, parse, validate } from 'graphql';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { revokeApiKey } from '../src/auth/api-keys.js';
import { Scope } from '../src/auth/scopes.js';
import type { Prisma } from '../src/generated/prisma/client.js';
import { AML_TRANSITIONS, KYC_TRANSITIONS } from '../src/customers/lifecycle.js';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay } from '../web/dashboard/backoff.js';
import { OPERATIONS } from '../web/dashboard/operations.js';
import { browserAvailable, useBrowser } from './helpers/browser.js';
import { customersOf, eventsOf, seedCustomer, upsert } from './helpers/customers.js';
import {
  expectKeyKeptPrivate,
  feedEntries,
  listedNames,
  moveKyc,
  openDashboard,
  recordAml,
  signIn,
  tileCount,
  waitForConnection,
  waitForFeed,
  waitForList,
  type FeedEntry,
} from './helpers/dashboard.js';
import { useGateway } from './helpers/fixture.js';
import { ROOT } from './helpers/process.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

/** One directory per database project: the two run at the same time. */
const SHOTS = join(ROOT, 'test-results', 'dashboard', process.env.TEST_DB_KIND ?? 'pglite');
/** The README's pictures, rewritten by the PGlite run with UPDATE_DOCS_SCREENSHOT=1. */
const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOT === '1' && process.env.TEST_DB_KIND !== 'postgres';

const ctx = useGateway();

/** Writes a screenshot of the viewport to test-results/dashboard/<name>.png; returns its path. */
async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** A raw GET with any Host header (fetch does not let a test choose it). */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /dashboard', () => {
  it('serves the page under a strict Content-Security-Policy, no-cache, with its assets hashed and cached for good', async () => {
    const res = await fetch(`${ctx.gw.url}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    const host = new URL(ctx.gw.url).host;
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'", `ws://${host}`, `wss://${host}`]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('form-action')).toEqual(["'none'"]);
    expect(directives.get('require-trusted-types-for')).toEqual(["'script'"]);
    expect(csp).not.toMatch(/unsafe|\*|data:|https?:/);

    const html = await res.text();
    // Nothing inline (the policy would block it) and nothing from another host.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|\son\w+=/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((a) => a.replace(/-[\w-]{8,}\./, '-HASH.')).sort()).toEqual([
      '/dashboard/app-HASH.css',
      '/dashboard/app-HASH.js',
      '/dashboard/icon-HASH.svg',
    ]);
    const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
    for (const asset of assets) {
      const a = await fetch(`${ctx.gw.url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(a.status, asset).toBe(200);
      expect(a.headers.get('content-type')).toBe(types[asset.split('.').pop()!]);
      expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(0);
      if (!asset.endsWith('.svg')) expect(a.headers.get('content-encoding')).toBe('gzip');
    }

    // Revalidation: the shell's ETag answers 304; HEAD answers the headers alone.
    const etag = res.headers.get('etag')!;
    expect((await fetch(`${ctx.gw.url}/dashboard`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const head = await fetch(`${ctx.gw.url}/dashboard`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers 404 in the REST envelope for an unknown file and for other methods', async () => {
    for (const [method, path] of [
      ['GET', '/dashboard/app.js'],
      ['GET', '/dashboard/nested/index.html'],
      ['POST', '/dashboard'],
      ['DELETE', '/dashboard'],
    ] as const) {
      const res = await fetch(`${ctx.gw.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('never copies a Host header that is not a plain host into the policy', async () => {
    const port = ctx.gw.server.port;
    const plain = await rawGet(port, '/dashboard', { host: 'dashboard.example:8443' });
    expect(plain.headers['content-security-policy']).toContain(
      "connect-src 'self' ws://dashboard.example:8443 wss://dashboard.example:8443;",
    );
    const forged = await rawGet(port, '/dashboard', { host: "evil; script-src 'unsafe-inline'" });
    expect(forged.status).toBe(200);
    expect(forged.headers['content-security-policy']).toContain("connect-src 'self';");
    expect(forged.headers['content-security-policy']).not.toContain('evil');
  });

  it("sends only operations that are valid against the public schema and fit the gateway's default limits", async () => {
    const schema = buildSchema(readFileSync(join(ROOT, 'schema.graphql'), 'utf8'));
    for (const [name, document] of Object.entries(OPERATIONS)) {
      expect(
        validate(schema, parse(document)).map((e) => e.message),
        name,
      ).toEqual([]);
    }
    // The heaviest reads at their largest: a page of 100 and a customer with 20 history entries.
    const { key, orgId } = await ctx.org([Scope.CustomersRead]);
    const customer = await seedCustomer(ctx.db, orgId);
    const page = await ctx.gw.gql(key, OPERATIONS.CUSTOMERS, { first: 100, filter: { search: 'Person' } });
    expect(page.body.errors).toBeUndefined();
    const one = await ctx.gw.gql(key, OPERATIONS.CUSTOMER, { id: customer.id });
    expect(one.body.errors).toBeUndefined();
    expect(one.body.data.customer.id).toBe(customer.id);
  });
});

describe('the live feed reconnection delay', () => {
  it('is drawn below a ceiling that doubles from 500 ms up to 15 s (full jitter)', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => backoffDelay(attempt, () => 0.999999) + 1);
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000, 15_000]);
    expect(BACKOFF_BASE_MS).toBe(500);
    expect(BACKOFF_CAP_MS).toBe(15_000);
    expect(backoffDelay(3, () => 0)).toBe(0);
    expect(backoffDelay(3, () => 0.5)).toBe(1000);
  });
});

describe.runIf(browserAvailable)('the dashboard in a browser', () => {
  const browser = useBrowser();

  it('signs in with a customers:read key, narrows the list with the filters, and pages forward and back showing each customer once', async () => {
    const { key, orgId } = await ctx.org([Scope.CustomersRead]);
    for (let i = 1; i <= 23; i++) {
      await seedCustomer(ctx.db, orgId, {
        fullName: `Customer ${String(i).padStart(2, '0')}`,
        externalId: `crm-${i}`,
        ...(i % 8 === 0 ? { kycStatus: 'PENDING', kycStartedAt: new Date() } : {}),
        ...(i === 5 ? { type: 'SOLE_TRADER' } : {}),
        ...(i === 7 || i === 9 ? { updatedAt: new Date('2031-03-01T12:00:00Z') } : {}),
      });
    }
    await seedCustomer(ctx.db, orgId, { fullName: 'Ada Lovelace', email: 'ada@example.com' });
    const all = (await customersOf(ctx.db, orgId)).map((c) => c.fullName);
    expect(all).toHaveLength(24);

    const opened = await openDashboard(browser, ctx.gw.url, 'list-and-filters');
    const { page } = opened;
    await signIn(page, key);
    await waitForList(page, all.slice(0, 24));
    await page.getByLabel('Rows per page').selectOption('10');
    await waitForList(page, all.slice(0, 10));
    const next = page.getByRole('button', { name: 'Next →' });
    const prev = page.getByRole('button', { name: '← Previous' });
    expect(await prev.isDisabled()).toBe(true);

    // Forward to the end, then back to the start: the same pages, every customer once.
    const forward: string[][] = [];
    forward.push(await listedNames(page));
    await next.click();
    await waitForList(page, all.slice(10, 20));
    forward.push(await listedNames(page));
    await expect.poll(() => page.locator('.list-summary').textContent()).toBe('11–20 of 24 customers');
    await next.click();
    await waitForList(page, all.slice(20));
    forward.push(await listedNames(page));
    expect(await next.isDisabled()).toBe(true);
    expect(forward.flat()).toEqual(all);
    expect(new Set(forward.flat()).size).toBe(24);
    await prev.click();
    await waitForList(page, all.slice(10, 20));
    await prev.click();
    await waitForList(page, all.slice(0, 10));
    expect(await prev.isDisabled()).toBe(true);

    // Search (name, email or external id, case-insensitive).
    await page.getByLabel('Search').fill('LOVELACE');
    await waitForList(page, ['Ada Lovelace']);
    await page.getByLabel('Search').fill('ada@example');
    await waitForList(page, ['Ada Lovelace']);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await waitForList(page, all.slice(0, 10));

    // A KYC tile filters by its status (and shows it pressed); the menu's checkbox is the same filter.
    const pending = all.filter((_, i) => (i + 1) % 8 === 0 && i < 23);
    await page.locator('.tile[data-machine="kyc"][data-status="PENDING"]').click();
    await waitForList(page, pending);
    expect(await page.locator('.tile[data-machine="kyc"][data-status="PENDING"]').getAttribute('aria-pressed')).toBe('true');
    await page.locator('.dropdown[data-machine="kyc"] summary').click();
    expect(await page.getByRole('checkbox', { name: 'Pending' }).isChecked()).toBe(true);
    await page.getByRole('checkbox', { name: 'Pending' }).uncheck();
    await waitForList(page, all.slice(0, 10));
    // The menu closes like a menu: Escape, back on its button; or a click elsewhere.
    await page.keyboard.press('Escape');
    expect(await page.locator('.dropdown[data-machine="kyc"]').getAttribute('open')).toBeNull();
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('SUMMARY');
    await page.locator('.dropdown[data-machine="aml"] summary').click();
    expect(await page.locator('.dropdown[data-machine="aml"]').getAttribute('open')).toBe('');
    await page.getByRole('heading', { name: 'Customers' }).click();
    expect(await page.locator('.dropdown[data-machine="aml"]').getAttribute('open')).toBeNull();

    // Type, and updated since (a local time; the two customers updated in 2031 match).
    await page.getByLabel('Type').selectOption('SOLE_TRADER');
    await waitForList(page, ['Customer 05']);
    await page.getByLabel('Type').selectOption('');
    await page.getByLabel('Updated since').fill('2030-06-01T00:00');
    await waitForList(page, ['Customer 07', 'Customer 09']);
    expect(await page.locator('.list-summary').textContent()).toBe('1–2 of 2 customers');
    await shot(page, 'list-filtered');

    expect(opened.errors).toEqual([]);
    await expectKeyKeptPrivate(opened, key);
  });

  it('shows a status change made through the API in the feed and the tiles within 2 s', async () => {
    const reader = await ctx.org([Scope.CustomersRead]);
    const office = await ctx.keyFor(reader.name, [Scope.CustomersRead, Scope.ComplianceWrite], { label: 'ops desk' });
    const ada = await seedCustomer(ctx.db, reader.orgId, { fullName: 'Ada Lovelace' });
    await seedCustomer(ctx.db, reader.orgId, { fullName: 'Grace Hopper' });

    const opened = await openDashboard(browser, ctx.gw.url, 'live-feed');
    const { page } = opened;
    await signIn(page, reader.key);
    await expect.poll(() => tileCount(page, 'kyc', 'NOT_STARTED')).toBe(2);
    expect(await tileCount(page, 'kyc', 'PENDING')).toBe(0);

    const start = Date.now();
    await moveKyc(ctx.gw, office.key, ada.id, 'PENDING');
    const committed = Date.now();
    await waitForFeed(page, 1, 2000);
    const inFeed = Date.now();
    await page.waitForFunction(
      () =>
        document.querySelector('.tile[data-status="PENDING"][data-machine="kyc"]')?.getAttribute('data-count') === '1' &&
        document.querySelector('.tile[data-status="NOT_STARTED"][data-machine="kyc"]')?.getAttribute('data-count') === '1',
      undefined,
      { timeout: Math.max(1, 2000 - (Date.now() - committed)) },
    );
    const inTiles = Date.now();
    console.info(
      `dashboard latency after commit: feed ${inFeed - committed} ms, tiles ${inTiles - committed} ms (mutation ${committed - start} ms)`,
    );
    expect(inTiles - committed).toBeLessThan(2000);

    expect(await feedEntries(page)).toEqual([{ customerId: ada.id, kind: 'KYC', from: 'NOT_STARTED', to: 'PENDING' }]);
    expect(await page.locator('.feed-item .feed-actor').textContent()).toBe('API key “ops desk”');
    // The row of the list is updated in place.
    await page.locator(`tr[data-customer-id="${ada.id}"] .col-kyc [data-status="PENDING"]`).waitFor({ timeout: 2000 });
    await shot(page, 'live-feed');
    expect(opened.errors).toEqual([]);
    await expectKeyKeptPrivate(opened, reader.key);
  });

  it('resumes the feed after its WebSocket is cut while changes keep coming: every change exactly once, in order', async () => {
    const reader = await ctx.org([Scope.CustomersRead]);
    const office = await ctx.keyFor(reader.name, [Scope.CustomersRead, Scope.ComplianceWrite]);
    const customers: { id: string }[] = [];
    for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson']) {
      customers.push(await seedCustomer(ctx.db, reader.orgId, { fullName: name }));
    }
    // Each customer walks NOT_STARTED → PENDING → IN_PROGRESS, then back and forth between
    // IN_PROGRESS and AWAITING_RESUBMISSION; the customers take turns.
    const statuses = new Map(customers.map((c) => [c.id, 'NOT_STARTED']));
    const expected: FeedEntry[] = [];
    let turn = 0;
    const produce = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const customer = customers[turn++ % customers.length]!;
        const from = statuses.get(customer.id)!;
        const to = {
          NOT_STARTED: 'PENDING',
          PENDING: 'IN_PROGRESS',
          IN_PROGRESS: 'AWAITING_RESUBMISSION',
          AWAITING_RESUBMISSION: 'IN_PROGRESS',
        }[from]!;
        await moveKyc(ctx.gw, office.key, customer.id, to);
        statuses.set(customer.id, to);
        expected.push({ customerId: customer.id, kind: 'KYC', from, to });
      }
    };

    const proxy = await startTcpProxy(ctx.gw.server.port);
    const opened = await openDashboard(browser, proxy.url, 'feed-resume');
    const { page } = opened;
    await signIn(page, reader.key);
    expect(proxy.webSocketsAccepted).toBe(1);
    await produce(4);
    await waitForFeed(page, 4);

    // The network drops: the WebSocket is cut on both sides and new connections are refused.
    proxy.refuse('all');
    expect(proxy.cutWebSockets()).toBe(1);
    await waitForConnection(page, 'reconnecting');
    await produce(8);
    await proxy.whenRefused(1);
    await shot(page, 'feed-reconnecting');
    expect(await page.locator('.feed-item').count()).toBe(4);

    // The network is back while changes keep coming.
    proxy.refuse('none');
    await produce(8);
    await waitForConnection(page, 'connected');
    expect(proxy.webSocketsAccepted).toBeGreaterThanOrEqual(2);
    // A last change after the reconnect: once it is shown, everything before it was delivered.
    await produce(1);
    await waitForFeed(page, expected.length);
    await page
      .locator(`.feed-item[data-customer-id="${expected.at(-1)!.customerId}"][data-to="${expected.at(-1)!.to}"]`)
      .first()
      .waitFor();
    expect(await feedEntries(page)).toEqual(expected);
    expect(expected).toHaveLength(21);
    await expectKeyKeptPrivate(opened, reader.key);
  });

  it('resumes on another instance when its gateway shuts down (the server closes the WebSocket with 1001) while changes keep coming', async () => {
    const reader = await ctx.org([Scope.CustomersRead]);
    const office = await ctx.keyFor(reader.name, [Scope.ComplianceWrite]);
    const ada = await seedCustomer(ctx.db, reader.orgId, { fullName: 'Ada Lovelace' });
    const first = await ctx.extraGateway();
    const second = await ctx.extraGateway();
    // The proxy is the load balancer: the page reaches the first instance through it.
    const proxy = await startTcpProxy(first.server.port);
    const opened = await openDashboard(browser, proxy.url, 'feed-instance-restart');
    const { page } = opened;
    await signIn(page, reader.key);
    const moves = ['PENDING', 'IN_PROGRESS', 'AWAITING_RESUBMISSION', 'IN_PROGRESS', 'AWAITING_RESUBMISSION', 'IN_PROGRESS', 'VERIFIED'];
    const expected: string[] = [];
    let from = 'NOT_STARTED';
    const produce = async (n: number) => {
      for (const to of moves.splice(0, n)) {
        await moveKyc(ctx.gw, office.key, ada.id, to, to === 'VERIFIED' ? { legalName: 'Augusta Ada King', country: 'GBR' } : undefined);
        expected.push(`${from}→${to}`);
        from = to;
      }
    };
    await produce(2);
    await waitForFeed(page, 2);

    // The first instance drains: it closes the WebSocket itself (1001, going away); the
    // balancer sends new connections to the second, and changes keep coming meanwhile.
    proxy.retarget(second.server.port);
    const closing = first.server.close();
    await produce(3);
    await closing;
    await produce(2);
    await waitForConnection(page, 'connected');
    await waitForFeed(page, expected.length);
    await page.locator('.feed-item[data-to="VERIFIED"]').waitFor();
    expect((await feedEntries(page)).map((e) => `${e.from}→${e.to}`)).toEqual(expected);
    expect(proxy.webSocketsAccepted).toBe(2);
    await expectKeyKeptPrivate(opened, reader.key);
  });

  it('shows Offline while the browser has no network, then catches up with what it missed', async () => {
    const reader = await ctx.org([Scope.CustomersRead]);
    const office = await ctx.keyFor(reader.name, [Scope.ComplianceWrite]);
    const ada = await seedCustomer(ctx.db, reader.orgId, { fullName: 'Ada Lovelace' });

    const opened = await openDashboard(browser, ctx.gw.url, 'feed-offline');
    const { page } = opened;
    await signIn(page, reader.key);
    await moveKyc(ctx.gw, office.key, ada.id, 'PENDING');
    await waitForFeed(page, 1);

    await page.context().setOffline(true);
    await waitForConnection(page, 'offline');
    await moveKyc(ctx.gw, office.key, ada.id, 'IN_PROGRESS');
    await moveKyc(ctx.gw, office.key, ada.id, 'AWAITING_RESUBMISSION');
    await shot(page, 'feed-offline');
    expect(await page.locator('.connection').textContent()).toContain('Offline');

    await page.context().setOffline(false);
    await waitForConnection(page, 'connected');
    await moveKyc(ctx.gw, office.key, ada.id, 'IN_PROGRESS');
    await waitForFeed(page, 4);
    await page.locator('.feed-item[data-from="AWAITING_RESUBMISSION"][data-to="IN_PROGRESS"]').waitFor();
    expect((await feedEntries(page)).map((e) => `${e.from}→${e.to}`)).toEqual([
      'NOT_STARTED→PENDING',
      'PENDING→IN_PROGRESS',
      'IN_PROGRESS→AWAITING_RESUBMISSION',
      'AWAITING_RESUBMISSION→IN_PROGRESS',
    ]);
    await expectKeyKeptPrivate(opened, reader.key);
  });

  it('notices a connection that stops answering without closing (a ping without pong) and resumes', async () => {
    const reader = await ctx.org([Scope.CustomersRead]);
    const office = await ctx.keyFor(reader.name, [Scope.ComplianceWrite]);
    const ada = await seedCustomer(ctx.db, reader.orgId, { fullName: 'Ada Lovelace' });
    const proxy = await startTcpProxy(ctx.gw.server.port);
    // The page's clock is driven by the test, so its ping interval and pong timeout pass at once.
    const opened = await openDashboard(browser, proxy.url, 'feed-frozen', undefined, (page) => page.clock.install());
    const { page } = opened;
    await signIn(page, reader.key);
    await moveKyc(ctx.gw, office.key, ada.id, 'PENDING');
    await waitForFeed(page, 1);

    // The link goes silent: nothing passes, nothing closes. A change is made meanwhile.
    expect(proxy.freezeWebSockets()).toBe(1);
    await moveKyc(ctx.gw, office.key, ada.id, 'IN_PROGRESS');
    expect(await page.locator('.connection').getAttribute('data-state')).toBe('connected');
    // Ping after 10 s without traffic, no pong within 5 s: the page drops the connection.
    await page.clock.runFor(16_000);
    await waitForConnection(page, 'connected');
    await waitForFeed(page, 2);
    expect(proxy.webSocketsAccepted).toBe(2);
    expect((await feedEntries(page)).map((e) => `${e.from}→${e.to}`)).toEqual(['NOT_STARTED→PENDING', 'PENDING→IN_PROGRESS']);
    await expectKeyKeptPrivate(opened, reader.key);
  });

  /** The moves the panel offers, as `kyc:STATUS` / `aml:STATUS`. */
  const offeredMoves = (page: Page) =>
    page.locator('.panel [data-move]').evaluateAll((buttons) => buttons.map((b) => (b as HTMLElement).dataset.move));

  /** What the server's state machines allow from a customer's statuses. */
  const allowedMoves = (kyc: keyof typeof KYC_TRANSITIONS, aml: keyof typeof AML_TRANSITIONS) => [
    ...KYC_TRANSITIONS[kyc].map((s) => `kyc:${s}`),
    ...(kyc === 'VERIFIED' ? AML_TRANSITIONS[aml].map((s) => `aml:${s}`) : []),
  ];

  /** Waits until the panel shows these statuses. */
  const panelShows = async (page: Page, kyc: string, aml: string) => {
    await page.locator(`.panel-status .status-pair:first-child [data-status="${kyc}"]`).waitFor();
    await page.locator(`.panel-status .status-pair:last-child [data-status="${aml}"]`).waitFor();
  };

  it('walks a customer from NOT_STARTED to VERIFIED and AML CLEAR through the buttons of a compliance:write key', async () => {
    const office = await ctx.org([Scope.CustomersRead, Scope.ComplianceWrite], { label: 'back office' });
    // Created through the API by an integrator's key, so that the audit trail has two actors.
    const crm = await ctx.keyFor(office.name, [Scope.CustomersWrite], { label: 'crm sync' });
    const created = await upsert(ctx.gw, crm.key, { externalId: 'crm-ada', fullName: 'Ada Lovelace', email: 'ada@example.com' });
    const ada = created.customer as { id: string };

    const opened = await openDashboard(browser, ctx.gw.url, 'walk');
    const { page } = opened;
    await signIn(page, office.key);
    await page.getByRole('button', { name: 'Ada Lovelace' }).click();
    const panel = page.getByRole('dialog', { name: 'Ada Lovelace' });
    await panel.waitFor();
    await panelShows(page, 'NOT_STARTED', 'NOT_SCREENED');
    expect(await offeredMoves(page)).toEqual(allowedMoves('NOT_STARTED', 'NOT_SCREENED'));
    expect(await panel.getByText('AML screening starts once KYC is Verified.').isVisible()).toBe(true);

    const kyc = panel.getByRole('group', { name: 'Move KYC to' });
    const aml = panel.getByRole('group', { name: 'Record AML step' });
    await kyc.getByRole('button', { name: 'Pending' }).click();
    await panelShows(page, 'PENDING', 'NOT_SCREENED');

    expect(await offeredMoves(page)).toEqual(allowedMoves('PENDING', 'NOT_SCREENED'));
    // The keyboard user lands on the next move.
    await page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.move === 'kyc:IN_PROGRESS', undefined, {
      timeout: 2000,
    });
    await kyc.getByRole('button', { name: 'In progress' }).click();
    await panelShows(page, 'IN_PROGRESS', 'NOT_SCREENED');
    expect(await offeredMoves(page)).toEqual(allowedMoves('IN_PROGRESS', 'NOT_SCREENED'));

    // VERIFIED takes the verified identity; the gateway's field errors show on the form.
    await kyc.getByRole('button', { name: 'Verified' }).click();
    expect(await panel.getByLabel('Legal name').inputValue()).toBe('Ada Lovelace');
    await panel.getByLabel('Legal name').fill('Augusta Ada King');
    await panel.getByLabel('Country').fill('XYZ');
    await panel.getByRole('button', { name: 'Verify identity' }).click();
    await panel.locator('.field-error').waitFor();
    expect(await panel.getByLabel('Country').getAttribute('aria-invalid')).toBe('true');
    expect(await panel.getByLabel('Legal name').inputValue()).toBe('Augusta Ada King');
    await shot(page, 'panel-verify-error');
    await panel.getByLabel('Country').fill('gbr');
    await panel.getByRole('button', { name: 'Verify identity' }).click();
    await panelShows(page, 'VERIFIED', 'NOT_SCREENED');
    expect(await panel.locator('.alert').isHidden()).toBe(true);
    expect(await offeredMoves(page)).toEqual(allowedMoves('VERIFIED', 'NOT_SCREENED'));
    expect(await panel.getByText('Augusta Ada King').isVisible()).toBe(true);
    expect(await panel.getByText('GBR', { exact: true }).isVisible()).toBe(true);

    await aml.getByRole('button', { name: 'In progress' }).click();
    await panelShows(page, 'VERIFIED', 'IN_PROGRESS');
    expect(await offeredMoves(page)).toEqual(allowedMoves('VERIFIED', 'IN_PROGRESS'));
    await aml.getByRole('button', { name: 'Clear' }).click();
    await panel.getByRole('group', { name: 'Findings' }).waitFor();
    await shot(page, 'panel-aml-result');
    await panel.getByRole('button', { name: 'Record Clear' }).click();
    await panelShows(page, 'VERIFIED', 'CLEAR');
    expect(await offeredMoves(page)).toEqual(allowedMoves('VERIFIED', 'CLEAR'));

    // The audit trail names the key that made each move (its label, never the key).
    await expect.poll(() => panel.locator('.history-item').count()).toBe(6);
    const trail = await panel.locator('.history-item').allInnerTexts();
    expect(trail.slice(0, 5).every((t) => t.includes('API key “back office”'))).toBe(true);
    expect(trail[0]).toContain('AML: In progress → Clear');
    expect(trail[5]).toContain('Created');
    expect(trail[5]).toContain('API key “crm sync”');
    await shot(page, 'panel-walked');

    const [stored] = await customersOf(ctx.db, office.orgId);
    expect(stored).toMatchObject({
      kycStatus: 'VERIFIED',
      amlStatus: 'CLEAR',
      verifiedLegalName: 'Augusta Ada King',
      verifiedCountry: 'GBR',
    });
    const moves = (await eventsOf(ctx.db, office.orgId)).filter((e) => e.kind === 'KYC' || e.kind === 'AML');
    expect(moves.map((e) => e.actorKeyId)).toEqual(Array(5).fill(office.id));

    // Closing returns to the list, whose row followed every move.
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Ada Lovelace');
    await page.locator(`tr[data-customer-id="${ada.id}"] .col-aml [data-status="CLEAR"]`).waitFor();
    expect(opened.errors).toEqual([]);
    await expectKeyKeptPrivate(opened, office.key);
  });

  it("shows the gateway's InvalidTransitionError when the customer moved meanwhile", async () => {
    const office = await ctx.org([Scope.CustomersRead, Scope.ComplianceWrite]);
    const grace = await seedCustomer(ctx.db, office.orgId, {
      fullName: 'Grace Hopper',
      kycStatus: 'IN_PROGRESS',
      kycStartedAt: new Date(),
    });
    // No live feed (the network refuses WebSockets), so the open panel cannot learn of the move.
    const proxy = await startTcpProxy(ctx.gw.server.port);
    proxy.refuse('websockets');
    const opened = await openDashboard(browser, proxy.url, 'invalid-transition');
    const { page } = opened;
    await page.getByLabel('API key').fill(office.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.customers').getByRole('button', { name: 'Grace Hopper' }).click();
    const panel = page.getByRole('dialog', { name: 'Grace Hopper' });
    await panelShows(page, 'IN_PROGRESS', 'NOT_SCREENED');
    await proxy.whenRefused(1);

    await moveKyc(ctx.gw, office.key, grace.id, 'FAILED');
    await panel.getByRole('group', { name: 'Move KYC to' }).getByRole('button', { name: 'Awaiting resubmission' }).click();
    await panel.getByRole('alert').filter({ hasText: 'KYC cannot move from FAILED to AWAITING_RESUBMISSION' }).waitFor();
    // It then shows where the customer stands, with the moves allowed from there.
    await panelShows(page, 'FAILED', 'NOT_SCREENED');
    expect(await offeredMoves(page)).toEqual(allowedMoves('FAILED', 'NOT_SCREENED'));
    expect((await customersOf(ctx.db, office.orgId))[0]!.kycStatus).toBe('FAILED');
    await shot(page, 'panel-invalid-transition');
    await expectKeyKeptPrivate(opened, office.key);
  });

  it('shows a read-only key no back-office buttons', async () => {
    const { key, orgId } = await ctx.org([Scope.CustomersRead]);
    await seedCustomer(ctx.db, orgId, {
      fullName: 'Alan Turing',
      kycStatus: 'VERIFIED',
      verifiedLegalName: 'Alan Mathison Turing',
      verifiedCountry: 'GBR',
    });
    const opened = await openDashboard(browser, ctx.gw.url, 'read-only');
    const { page } = opened;
    await signIn(page, key);
    await page.getByRole('button', { name: 'Alan Turing' }).click();
    const panel = page.getByRole('dialog', { name: 'Alan Turing' });
    await panelShows(page, 'VERIFIED', 'NOT_SCREENED');
    expect(await panel.getByText('Alan Mathison Turing').isVisible()).toBe(true);
    expect(await panel.locator('button[data-move]').count()).toBe(0);
    expect(await panel.locator('.actions').isHidden()).toBe(true);
    expect(opened.errors).toEqual([]);
    await expectKeyKeptPrivate(opened, key);
  });

  it('pages through a long audit trail', async () => {
    const reader = await ctx.org([Scope.CustomersRead]);
    const office = await ctx.keyFor(reader.name, [Scope.ComplianceWrite], { label: 'back office' });
    const alan = await seedCustomer(ctx.db, reader.orgId, { fullName: 'Alan Turing', kycStatus: 'IN_PROGRESS', kycStartedAt: new Date() });
    // 23 moves: one page of 20, then 3 older ones.
    for (let i = 0; i < 23; i++) await moveKyc(ctx.gw, office.key, alan.id, i % 2 === 0 ? 'AWAITING_RESUBMISSION' : 'IN_PROGRESS');
    const opened = await openDashboard(browser, ctx.gw.url, 'history');
    const { page } = opened;
    await signIn(page, reader.key);
    await page.getByRole('button', { name: 'Alan Turing' }).click();
    const panel = page.getByRole('dialog', { name: 'Alan Turing' });
    await panelShows(page, 'AWAITING_RESUBMISSION', 'NOT_SCREENED');
    expect(await panel.locator('.history-item').count()).toBe(20);
    await panel.getByRole('button', { name: 'Show older entries' }).click();
    await expect.poll(() => panel.locator('.history-item').count()).toBe(23);
    expect(await panel.getByRole('button', { name: 'Show older entries' }).count()).toBe(0);
    // Newest first, alternating, down to the first move out of IN_PROGRESS.
    const trail = await panel.locator('.history-what').allTextContents();
    expect(trail[0]).toBe('KYC: In progress → Awaiting resubmission');
    expect(trail[1]).toBe('KYC: Awaiting resubmission → In progress');
    expect(trail.at(-1)).toBe('KYC: In progress → Awaiting resubmission');
    expect(opened.errors).toEqual([]);
  });

  it('refuses a key it cannot use, and signing out forgets the key', async () => {
    const writer = await ctx.org([Scope.CustomersWrite]);
    const reader = await ctx.org([Scope.CustomersRead]);
    const opened = await openDashboard(browser, ctx.gw.url, 'sign-in-out');
    const { page } = opened;
    await page.getByLabel('API key').fill('ic_live_not-a-real-key-at-all-000000000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This API key was not accepted.' }).waitFor();
    await page.getByLabel('API key').fill(writer.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'customers:read' }).waitFor();
    await shot(page, 'sign-in-refused');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await signIn(page, reader.key);
    expect(await page.evaluate(() => Object.values({ ...sessionStorage }))).toContain(reader.key);
    // A reload resumes the tab's session without asking again.
    await page.reload();
    await waitForConnection(page, 'connected');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await expectKeyKeptPrivate(opened, reader.key);
    await expectKeyKeptPrivate(opened, writer.key);
  });

  it('keeps the session while the gateway cannot be reached, and signs out once the key is revoked', async () => {
    const reader = await ctx.org([Scope.CustomersRead]);
    const opened = await openDashboard(browser, ctx.gw.url, 'unreachable-revoked');
    const { page } = opened;
    await signIn(page, reader.key);

    // A reload while the API cannot be reached: the page offers to try again and keeps the key.
    await page.route('**/graphql', (route) => route.abort('connectionrefused'));
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'cannot be reached' }).waitFor();
    expect(await page.evaluate(() => Object.values({ ...sessionStorage }))).toContain(reader.key);
    await page.unroute('**/graphql');
    await page.getByRole('button', { name: 'Try again' }).click();
    await waitForConnection(page, 'connected');

    // The key is revoked: the gateway closes the feed (4401) and the page signs out.
    expect(await revokeApiKey(ctx.db.prisma, reader.id)).toBe(true);
    await page.getByRole('alert').filter({ hasText: 'no longer accepted' }).waitFor();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await expectKeyKeptPrivate(opened, reader.key);
  });

  it('works by keyboard, passes axe, and fits a 390×844 screen', async () => {
    const office = await ctx.org([Scope.CustomersRead, Scope.ComplianceWrite]);
    for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing']) await seedCustomer(ctx.db, office.orgId, { fullName: name });
    const opened = await openDashboard(browser, ctx.gw.url, 'narrow', { width: 390, height: 844 });
    const { page } = opened;

    // The key field has the focus; Enter signs in.
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)).toBe('apiKey');
    await expectAccessible(page, 'sign-in');
    await page.keyboard.type(office.key);
    await page.keyboard.press('Enter');
    await waitForConnection(page, 'connected');
    await waitForList(page, ['Ada Lovelace', 'Grace Hopper', 'Alan Turing']);
    await expectAccessible(page, 'dashboard (narrow)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'narrow');

    // Tab reaches the first customer; Enter opens its panel, Escape closes it and focus returns.
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'Ada Lovelace');
    }
    expect(reached).toBe(true);
    const focusRing = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(focusRing).toBe('solid');
    await page.keyboard.press('Enter');
    const panel = page.getByRole('dialog', { name: 'Ada Lovelace' });
    await panel.locator('button[data-move]').first().waitFor();
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectAccessible(page, 'panel (narrow)');
    await shot(page, 'narrow-panel');
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Ada Lovelace');

    await page.setViewportSize({ width: 1280, height: 800 });
    await expectAccessible(page, 'dashboard (wide)');
    expect(opened.errors).toEqual([]);
    await expectKeyKeptPrivate(opened, office.key);
  });

  it('renders the screenshot of the README', async () => {
    // A readable organisation name for the picture (this file's database is its own).
    const reader = await ctx.keyFor('Acme Payments', [Scope.CustomersRead, Scope.ComplianceWrite], { label: 'back office' });
    const people: [string, string, Partial<Prisma.CustomerUncheckedCreateInput>][] = [
      [
        'Ada Lovelace',
        'crm-1001',
        { kycStatus: 'VERIFIED', verifiedLegalName: 'Augusta Ada King', verifiedCountry: 'GBR', amlStatus: 'CLEAR' },
      ],
      ['Alan Turing', 'crm-1003', { kycStatus: 'IN_PROGRESS' }],
      ['Katherine Johnson', 'crm-1004', { kycStatus: 'PENDING' }],
      ['Edsger Dijkstra', 'crm-1005', { kycStatus: 'AWAITING_RESUBMISSION' }],
      ['Barbara Liskov', 'crm-1006', { kycStatus: 'FAILED' }],
      ['Donald Knuth', 'crm-1007', { type: 'SOLE_TRADER' }],
      ['Margaret Hamilton', 'crm-1008', { kycStatus: 'NOT_REQUIRED' }],
      [
        'Tim Berners-Lee',
        'crm-1009',
        {
          kycStatus: 'VERIFIED',
          verifiedLegalName: 'Timothy John Berners-Lee',
          verifiedCountry: 'GBR',
          amlStatus: 'RESOLVED',
          amlSanctions: true,
        },
      ],
      ['Frances Allen', 'crm-1010', {}],
    ];
    const ids = new Map<string, string>();
    for (const [name, externalId, data] of people) {
      const email = `${name.split(' ')[0]!.toLowerCase()}@example.com`;
      ids.set(name, (await seedCustomer(ctx.db, reader.orgId, { fullName: name, externalId, email, ...data })).id);
    }
    // Grace comes from the CRM through the API, and the back office walks her to a review.
    const crm = await ctx.keyFor('Acme Payments', [Scope.CustomersWrite], { label: 'crm sync' });
    const created = await upsert(ctx.gw, crm.key, { externalId: 'crm-1002', fullName: 'Grace Hopper', email: 'grace@example.com' });
    const grace = (created.customer as { id: string }).id;
    const opened = await openDashboard(browser, ctx.gw.url, 'readme');
    const { page } = opened;
    await signIn(page, reader.key);
    await moveKyc(ctx.gw, reader.key, grace, 'PENDING');
    await moveKyc(ctx.gw, reader.key, grace, 'IN_PROGRESS');
    await moveKyc(ctx.gw, reader.key, grace, 'VERIFIED', { legalName: 'Grace Brewster Hopper', country: 'USA' });
    await recordAml(ctx.gw, reader.key, grace, 'IN_PROGRESS');
    await recordAml(ctx.gw, reader.key, grace, 'NEEDS_REVIEW', { pep: true });
    await moveKyc(ctx.gw, reader.key, ids.get('Katherine Johnson')!, 'IN_PROGRESS');
    await moveKyc(ctx.gw, reader.key, ids.get('Frances Allen')!, 'PENDING');
    await moveKyc(ctx.gw, reader.key, ids.get('Alan Turing')!, 'VERIFIED', { legalName: 'Alan Mathison Turing', country: 'GBR' });
    await waitForFeed(page, 8);
    await expect.poll(() => tileCount(page, 'kyc', 'VERIFIED'), { timeout: 5000 }).toBe(4);
    await expect.poll(() => tileCount(page, 'aml', 'NEEDS_REVIEW'), { timeout: 5000 }).toBe(1);
    // Let the arrival highlights fade so the picture shows the resting state.
    await page.evaluate(() =>
      Promise.all(
        document
          .getAnimations()
          .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
          .map((a) => a.finished.catch(() => {})),
      ),
    );
    const main = await shot(page, 'dashboard');
    // The panel of a customer whose screening needs review, with its audit trail.
    await page.locator('table.customers').getByRole('button', { name: 'Grace Hopper' }).click();
    await page.getByRole('dialog', { name: 'Grace Hopper' }).locator('.history').waitFor();
    await page.evaluate(() =>
      Promise.all(
        document
          .getAnimations()
          .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
          .map((a) => a.finished.catch(() => {})),
      ),
    );
    const panel = await shot(page, 'dashboard-panel');
    if (UPDATE_DOCS) {
      copyFileSync(main, join(ROOT, 'docs', 'dashboard.png'));
      copyFileSync(panel, join(ROOT, 'docs', 'dashboard-panel.png'));
    }
    expect(opened.errors).toEqual([]);
  });
});

/** Runs axe-core on the page as it is now; fails on any violation. */
async function expectAccessible(page: Page, view: string): Promise<void> {
  // Measured at rest: mid-animation colours (the panel slides and fades in) are not what users read.
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
        .map((a) => a.finished.catch(() => {})),
    ),
  );
  const injected = await page.evaluate(() => 'axe' in window);
  if (!injected) await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const runner = (window as Window & { axe?: typeof axe }).axe;
    if (!runner) throw new Error('axe-core is not loaded');
    const result = await runner.run(document);
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, view).toEqual([]);
}
