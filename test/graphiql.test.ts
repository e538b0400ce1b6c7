// GraphiQL in a real browser (SPEC section 12: it works on a network with no internet access):
// everything the page loads — scripts, styles, editor workers, fonts, the favicon — comes from
// the gateway, nothing leaves the machine; the headers tab shows where the key goes (a
// placeholder, never a key); a query run with a real key typed in that tab answers in the page.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { browserAvailable, SCREENSHOT_DIR, useBrowser } from './helpers/browser.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { subscribersAtLeast } from './helpers/subscriptions.js';

const ctx = useGateway();
/** Monaco renders spaces as no-break spaces. */
const text = async (l: { innerText(): Promise<string> }) => (await l.innerText()).replace(/\u00a0/g, ' ');
const browser = useBrowser();

describe.runIf(browserAvailable)(`GraphiQL served by the gateway (${dbKind})`, () => {
  it('loads nothing from outside, shows the key placeholder, runs a query with the key typed in the headers tab, and a subscription over graphql-ws', async () => {
    const { key, name, orgId } = await ctx.org([Scope.CustomersRead]);
    const customer = await seedCustomer(ctx.db, orgId);
    const { page, outside, errors } = await browser.open(ctx.gw.url, 'graphiql');
    const response = await page.goto(`${ctx.gw.url}/graphql`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    const html = await response!.text();
    expect(html).not.toContain(key);
    expect(html).not.toMatch(/unpkg|jsdelivr|cdn\.|googleapis/);

    // The query editor is up once the schema has loaded.
    const query = page.locator('.graphiql-query-editor .monaco-editor').first();
    await query.waitFor({ state: 'visible', timeout: 30_000 });
    // The schema loads without a key (the placeholder is not sent): the docs are there at once.
    await page.getByRole('button', { name: /show documentation explorer/i }).click();
    await expect.poll(() => text(page.locator('.graphiql-doc-explorer')), { timeout: 20_000 }).toContain('Query');
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'graphiql-opened.png'), fullPage: true });
    await page.getByRole('button', { name: /hide documentation explorer/i }).click();

    // The headers tab: the placeholder shows where the key goes.
    await page.getByRole('button', { name: /^headers$/i }).click();
    const headers = page.locator('.graphiql-editor-tool .monaco-editor').last();
    await headers.waitFor({ state: 'visible' });
    await expect.poll(() => text(headers)).toContain('"Authorization": "Bearer <your key>"');

    // Type a real key there, and the query.
    await headers.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(`{"Authorization": "Bearer ${key}"`);
    await query.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('{ viewer { organization { name } scopes');
    // Dispatched on the button itself: the autocompletion popup may cover it.
    await page.locator('.graphiql-execute-button').dispatchEvent('click');

    const result = page.locator('.graphiql-response');
    await expect.poll(() => text(result), { timeout: 20_000 }).toContain(name);
    expect(await text(result)).toContain(Scope.CustomersRead);

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'graphiql-ran-query.png'), fullPage: true });

    // A subscription: graphql-ws on the same origin, the key from the headers tab in connection_init.
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await query.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('subscription { customerStatusChanged { kind kyc { to');
    // Dispatched on the button itself: the autocompletion popup may cover it.
    await page.locator('.graphiql-execute-button').dispatchEvent('click');
    await subscribersAtLeast(ctx.gw.services.bus, 1);
    await moveKyc(ctx.db, orgId, customer.id, 'PENDING');
    await expect.poll(() => text(result), { timeout: 20_000 }).toContain('PENDING');
    expect(sockets).toEqual([`${ctx.gw.url.replace(/^http/, 'ws')}/graphql`]);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'graphiql-subscription.png'), fullPage: true });

    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 90_000);
});
