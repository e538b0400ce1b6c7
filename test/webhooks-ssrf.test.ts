// Where webhooks may go (SPEC section 10): the address rules as a pure function over a table
// (no connection made), and end to end against loopback only: every spelling of a loopback
// target, a name resolving to it, and a redirect, with and without the two allow variables.
// No test here sends traffic to any address outside loopback.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AddressRefusedError, guardedLookup, nonPublicReason, urlProblem } from '../src/webhooks/address-policy.js';
import { WebhookEventType } from '../src/webhooks/event-types.js';
import { WebhookTransport } from '../src/webhooks/transport.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { createEndpoint, Receiver, recorded, SENDER_ENV } from './helpers/webhooks.js';

const STRICT = { allowInsecure: false, allowPrivateNetworks: false };
const INSECURE_ONLY = { allowInsecure: true, allowPrivateNetworks: false };

describe('address rules (pure: no DNS, no connection)', () => {
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['::1', /loopback/],
    ['0:0:0:0:0:0:0:1', /loopback/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:7f00:1', /loopback/],
    ['::127.0.0.1', /loopback/],
    ['10.0.0.1', /private/],
    ['10.255.255.255', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.0.1', /private/],
    ['192.168.255.255', /private/],
    ['::ffff:10.1.2.3', /private/],
    ['::ffff:192.168.1.1', /private/],
    ['169.254.0.1', /linkLocal/],
    ['169.254.169.254', /linkLocal/],
    ['::ffff:169.254.169.254', /linkLocal/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['::', /unspecified/],
    ['fc00::1', /uniqueLocal/],
    ['fd00:ec2::254', /uniqueLocal/],
    ['fdff:ffff::1', /uniqueLocal/],
    ['fe80::1', /linkLocal/],
    ['febf::1', /linkLocal/],
    ['100.64.0.1', /carrierGradeNat/],
    ['100.100.100.200', /carrierGradeNat/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['192.0.2.1', /reserved/],
    ['64:ff9b::a00:1', /rfc6052/],
    ['2002:a00:1::1', /6to4/],
  ];
  it.each(refused)('%s is refused (%s)', (address, why) => {
    expect(nonPublicReason(address)).toMatch(why);
  });

  const allowed = [
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '172.15.255.255',
    '192.169.0.1',
    '11.0.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
  ];
  it.each(allowed)('%s is a public address', (address) => {
    expect(nonPublicReason(address)).toBeNull();
  });

  it('URLs: https only unless insecure is allowed; no credentials; literal addresses in any spelling', () => {
    expect(urlProblem('https://hooks.example.com/in', STRICT)).toBeNull();
    expect(urlProblem('http://hooks.example.com/in', STRICT)).toMatch(/https/);
    expect(urlProblem('http://hooks.example.com/in', INSECURE_ONLY)).toBeNull();
    expect(urlProblem('https://user:pw@hooks.example.com/', STRICT)).toMatch(/credentials/);
    expect(urlProblem('not a url', STRICT)).toMatch(/absolute URL/);
    for (const spelling of [
      '127.0.0.1',
      '2130706433',
      '0x7f000001',
      '0177.0.0.1',
      '127.1',
      '[::1]',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
    ]) {
      expect(urlProblem(`https://${spelling}/hook`, STRICT), spelling).toMatch(/loopback/);
    }
    expect(urlProblem('https://169.254.169.254/latest/meta-data', STRICT)).toMatch(/linkLocal/);
    expect(urlProblem('https://[fd00:ec2::254]/', STRICT)).toMatch(/uniqueLocal/);
    expect(urlProblem('https://127.0.0.1/', { allowInsecure: false, allowPrivateNetworks: true })).toBeNull();
  });

  it('the connect-time lookup refuses a name if any of its addresses is not allowed (resolver injected: no DNS)', async () => {
    const resolveTo = (addresses: string[]) =>
      ((_host: string, _opts: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
        cb(
          null,
          addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
        )) as never;
    const run = (addresses: string[]) =>
      new Promise<unknown>((resolve) =>
        guardedLookup(STRICT, resolveTo(addresses))('hooks.example.com', { all: true }, (e, a) => resolve(e ?? a)),
      );
    expect(await run(['93.184.216.34'])).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect(await run(['93.184.216.34', '10.0.0.5'])).toBeInstanceOf(AddressRefusedError);
    expect(await run(['169.254.169.254'])).toBeInstanceOf(AddressRefusedError);
    expect(await run(['::1'])).toBeInstanceOf(AddressRefusedError);
  });
});

describe(`refused end to end, against loopback only (${dbKind})`, () => {
  const ctx = useGateway();

  it('http://127.0.0.1, http://2130706433, http://[::1] and http://localhost are never connected to without the allow variables', async () => {
    const v4 = await Receiver.start();
    const v6 = await Receiver.start(() => 200, '::1');
    const transport = new WebhookTransport(INSECURE_ONLY);
    const urls = [
      v4.url(),
      `http://2130706433:${v4.port}/hook`,
      `http://0x7f.0.0.1:${v4.port}/hook`,
      v6.url('/hook', '[::1]'),
      `http://localhost:${v4.port}/hook`,
      `http://localhost:${v6.port}/hook`,
    ];
    try {
      for (const url of urls) {
        const outcome = await transport.attempt({ endpointId: 'e', url, body: '{}', headers: {}, timeoutMs: 2000 });
        expect(outcome, url).toMatchObject({ kind: 'refused', error: expect.stringMatching(/loopback/) });
      }
      // https is required too when insecure is not allowed.
      expect(
        await new WebhookTransport(STRICT).attempt({ endpointId: 'e', url: v4.url(), body: '{}', headers: {}, timeoutMs: 2000 }),
      ).toMatchObject({
        kind: 'refused',
        error: expect.stringMatching(/https/),
      });
      expect(v4.connections + v6.connections).toBe(0);
      // With both variables the same receivers are reached (the refusals above were the rule, not the network).
      const open = new WebhookTransport({ allowInsecure: true, allowPrivateNetworks: true });
      // (localhost resolves to 127.0.0.1 here, so the IPv6-only receiver is not reachable by that name.)
      for (const url of urls.slice(0, -1)) {
        expect(await open.attempt({ endpointId: 'e', url, body: '{}', headers: {}, timeoutMs: 2000 }), url).toMatchObject({
          kind: 'delivered',
        });
      }
      open.close();
    } finally {
      transport.close();
    }
  });

  it('a delivery to loopback is refused by the sender and retried later, never sent; creation refuses a literal loopback URL', async () => {
    const gw = await ctx.extraGateway({ env: { WEBHOOK_CONCURRENCY: '4', WEBHOOK_ALLOW_INSECURE: 'true' } });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start();
    const created = await gw.services.webhooks.endpoints.create(orgId, { url: receiver.url(), events: ['customer.kyc_status_changed'] });
    expect(created).toMatchObject({
      ok: false,
      failure: { kind: 'invalid', fieldErrors: [{ field: 'url', message: expect.stringMatching(/loopback/) }] },
    });
    // A name is only checked when sending (DNS may change): localhost is accepted, then refused at connect time.
    const { id } = await createEndpoint(gw.services, orgId, `http://localhost:${receiver.port}/hook`, [WebhookEventType.KycStatusChanged]);
    const c = await seedCustomer(ctx.db, orgId);
    const done = recorded(gw.services, id);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await done;
    const [d] = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId: id } });
    expect(d).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      lastStatusCode: null,
      lastError: expect.stringMatching(/refused: .*loopback/),
    });
    expect(receiver.connections).toBe(0);
  });

  it('redirects are not followed, even to an allowed address', async () => {
    const gw = await ctx.extraGateway({ env: SENDER_ENV });
    const { orgId } = await ctx.org();
    const target = await Receiver.start();
    const redirector = await Receiver.start(() => ({ status: 307, headers: { location: target.url() } }));
    const { id } = await createEndpoint(gw.services, orgId, redirector.url(), [WebhookEventType.KycStatusChanged]);
    const c = await seedCustomer(ctx.db, orgId);
    const done = recorded(gw.services, id);
    await moveKyc(ctx.db, orgId, c.id, 'PENDING');
    await done;
    const [d] = await ctx.db.prisma.webhookDelivery.findMany({ where: { endpointId: id } });
    expect(d).toMatchObject({ status: 'PENDING', lastStatusCode: 307, lastError: expect.stringMatching(/redirect not followed/) });
    expect(redirector.received).toHaveLength(1);
    expect(target.connections).toBe(0);
  });

  it('reads at most a bounded part of a response and keeps a short excerpt', async () => {
    // A receiver answering 500 with 8 MiB of body: the attempt ends without reading it all.
    const server = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 128 && res.write(chunk)) sent += 1;
        if (sent < 128) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const transport = new WebhookTransport({ allowInsecure: true, allowPrivateNetworks: true });
    try {
      const port = (server.address() as AddressInfo).port;
      const outcome = await transport.attempt({
        endpointId: 'e',
        url: `http://127.0.0.1:${port}/`,
        body: '{}',
        headers: {},
        timeoutMs: 5000,
      });
      expect(outcome).toMatchObject({ kind: 'http_error', status: 500, error: expect.stringMatching(/^HTTP 500: x+…$/) });
      if (outcome.kind === 'http_error') expect(outcome.error.length).toBeLessThanOrEqual(220);
    } finally {
      transport.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
