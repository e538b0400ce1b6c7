// HTTP and WebSocket connection limits (SPEC section 9), with raw sockets where fetch would
// hide the behaviour: an oversized body never leaves its keep-alive connection hung, answers
// of Node's HTTP parser carry X-Request-Id and the REST envelope, silent and idle sockets are
// closed after their bound, WebSocket messages and subscriptions per connection are capped.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Scope } from '../src/auth/scopes.js';
import { GraphQLErrorCode } from '../src/graphql/context.js';
import { DRAIN_MAX_BYTES, SILENT_SOCKET_MIN_AGE_MS } from '../src/http/connections.js';
import { WsCloseCode } from '../src/server.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { deferred } from './helpers/deferred.js';
import { useGateway, type OrgKey } from './helpers/fixture.js';
import { chunk, LAST_CHUNK, RawConnection, rawRequest, type RawResponse } from './helpers/raw-http.js';
import { Clients, subscribersAtLeast, subscribersAtMost } from './helpers/subscriptions.js';

const ctx = useGateway();
const clients = new Clients();
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await clients.closeAll();
});

async function connect(url = ctx.gw.url): Promise<RawConnection> {
  const c = await RawConnection.open(url);
  connections.push(c);
  return c;
}

/** The REST error envelope with an X-Request-Id, as every answer must carry. */
function expectEnvelope(res: RawResponse, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['x-request-id']).toMatch(/\S+/);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
}

const LIVEZ = rawRequest('GET', '/livez');
const KIB = 1024;

let writer: OrgKey;
beforeAll(async () => {
  writer = await ctx.org([Scope.CustomersWrite, Scope.CustomersRead]);
});

describe(`oversized bodies (${dbKind})`, () => {
  const surfaces = [
    { name: 'REST', path: '/api/v1/customers', code: 'payload_too_large' },
    { name: 'GraphQL', path: '/graphql', code: GraphQLErrorCode.RequestTooLarge },
  ];
  for (const surface of surfaces) {
    it(`${surface.name}: a chunked 100 KiB body is refused with 413 before it ends; the connection then serves the next request`, async () => {
      const c = await connect();
      const head = rawRequest('POST', surface.path, {
        Authorization: `Bearer ${writer.key}`,
        'Content-Type': 'application/json',
        'Transfer-Encoding': 'chunked',
      });
      // 70 KiB, then wait for the answer: the server refused the body while it was still arriving.
      await c.write(head + chunk('x'.repeat(35 * KIB)) + chunk('x'.repeat(35 * KIB)));
      const refused = await c.response();
      expect(refused.status).toBe(413);
      expect(refused.headers['x-request-id']).toMatch(/\S+/);
      expect(refused.body).toContain(surface.code);
      if (surface.name === 'REST') expectEnvelope(refused, 413, 'payload_too_large');
      // The rest of the body, then another request on the same connection.
      await c.write(chunk('x'.repeat(30 * KIB)) + LAST_CHUNK + LIVEZ);
      const next = await c.response();
      expect(next.status).toBe(200);
      expect(c.isClosed).toBe(false);
    });
  }

  it('a declared Content-Length over the limit is refused at once; the body sent anyway is discarded and the connection reused', async () => {
    const c = await connect();
    const body = JSON.stringify({ fullName: 'Big', email: 'big@example.com', pad: 'x'.repeat(100 * KIB) });
    const head = rawRequest('POST', '/api/v1/customers', {
      Authorization: `Bearer ${writer.key}`,
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    await c.write(head);
    expectEnvelope(await c.response(), 413, 'payload_too_large');
    await c.write(body + LIVEZ);
    expect((await c.response()).status).toBe(200);
  });

  it('a body too big to discard (over 1 MiB declared) is refused with Connection: close, and the connection is closed', async () => {
    const c = await connect();
    await c.write(
      rawRequest('POST', '/api/v1/customers', {
        Authorization: `Bearer ${writer.key}`,
        'Content-Type': 'application/json',
        'Content-Length': String(DRAIN_MAX_BYTES + 1),
      }),
    );
    const res = await c.response();
    expectEnvelope(res, 413, 'payload_too_large');
    expect(res.headers.connection).toBe('close');
    await c.closed.promise;
  });
});

describe(`answers of the HTTP parser (${dbKind})`, () => {
  it('oversized headers: 431 with X-Request-Id, the envelope and Connection: close', async () => {
    const c = await connect();
    await c.write(rawRequest('GET', '/livez', { 'X-Padding': 'a'.repeat(20 * KIB) }));
    const res = await c.response();
    expectEnvelope(res, 431, 'invalid_request');
    expect(res.headers.connection).toBe('close');
    await c.closed.promise;
  });

  it('a malformed request line: 400 with the envelope, then the connection is closed', async () => {
    const c = await connect();
    await c.write('GARBAGE\r\n\r\n');
    const res = await c.response();
    expectEnvelope(res, 400, 'invalid_request');
    expect(res.headers.connection).toBe('close');
    await c.closed.promise;
  });

  it('a malformed header: 400 with the envelope', async () => {
    const c = await connect();
    await c.write('GET /livez HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
    expectEnvelope(await c.response(), 400, 'invalid_request');
  });
});

describe(`timeouts and silent sockets (${dbKind})`, () => {
  const env = { HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '600', HTTP_KEEP_ALIVE_TIMEOUT_MS: '300' };

  it('a socket that never sends a byte is closed after HTTP_HEADERS_TIMEOUT_MS, without an answer', async () => {
    const gw = await ctx.extraGateway({ env });
    const started = performance.now();
    const c = await connect(gw.url);
    expect(await c.closed.promise).toEqual({});
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(300 - 5);
    expect(elapsed).toBeLessThan(3000);
    await expect(c.response()).rejects.toThrow(/closed/);
  });

  it('headers sent too slowly (slowloris): 408 in the envelope after HTTP_HEADERS_TIMEOUT_MS', async () => {
    const gw = await ctx.extraGateway({ env });
    const c = await connect(gw.url);
    await c.write('GET /livez HTTP/1.1\r\nHost: x\r\n');
    const res = await c.response();
    expectEnvelope(res, 408, 'invalid_request');
    await c.closed.promise;
  });

  it('a body sent too slowly: 408 in the envelope after HTTP_REQUEST_TIMEOUT_MS', async () => {
    const gw = await ctx.extraGateway({ env });
    const c = await connect(gw.url);
    await c.write(
      rawRequest('POST', '/api/v1/customers', {
        Authorization: `Bearer ${writer.key}`,
        'Content-Type': 'application/json',
        'Content-Length': '100',
      }) + '{"fullName":',
    );
    expectEnvelope(await c.response(), 408, 'invalid_request');
    await c.closed.promise;
  });

  it('an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const gw = await ctx.extraGateway({ env });
    const c = await connect(gw.url);
    await c.write(LIVEZ);
    expect((await c.response()).status).toBe(200);
    const answered = performance.now();
    await c.closed.promise;
    expect(performance.now() - answered).toBeGreaterThanOrEqual(300 - 5);
  });

  it('past HTTP_MAX_SILENT_SOCKETS the oldest silent socket is closed, once older than the minimum age', async () => {
    const gw = await ctx.extraGateway({ env: { HTTP_MAX_SILENT_SOCKETS: '2' } });
    const [a, b, c] = [await connect(gw.url), await connect(gw.url), await connect(gw.url)];
    // Three silent sockets over a limit of two, but all younger than the minimum age: a burst
    // of real clients looks like this, so none is closed.
    await c.write(LIVEZ); // c speaks: it is no longer silent
    expect((await c.response()).status).toBe(200);
    expect([a.isClosed, b.isClosed]).toEqual([false, false]);
    // Waiting for an age, not an event: a and b must become older than the minimum.
    await new Promise((resolve) => setTimeout(resolve, SILENT_SOCKET_MIN_AGE_MS + 100));
    const d = await connect(gw.url);
    await a.closed.promise; // the oldest goes: silent ones are a, b, d
    await d.write(LIVEZ);
    expect((await d.response()).status).toBe(200);
    await b.write(LIVEZ);
    expect((await b.response()).status).toBe(200);
    expect(c.isClosed).toBe(false);
  });
});

describe(`WebSocket limits (${dbKind})`, () => {
  function openWs(url: string) {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = deferred<number>();
    socket.on('close', (code) => closed.resolve(code));
    socket.on('error', () => {});
    const opened = new Promise<void>((resolve) => socket.once('open', () => resolve()));
    return { socket, closed: closed.promise, opened };
  }

  it('a message over WS_MAX_MESSAGE_BYTES closes the socket with 1009; a smaller one is served', async () => {
    const gw = await ctx.extraGateway({ env: { WS_MAX_MESSAGE_BYTES: '4096' } });
    const ok = openWs(gw.url);
    await ok.opened;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- ws hands a text message over as one Buffer: String() is its text
    const acked = new Promise<string>((resolve) => ok.socket.once('message', (m) => resolve(String(m))));
    ok.socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${writer.key}`, pad: 'x'.repeat(3000) } }));
    expect(JSON.parse(await acked)).toEqual({ type: 'connection_ack' });
    ok.socket.close();

    const big = openWs(gw.url);
    await big.opened;
    big.socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(5000) } }));
    expect(await big.closed).toBe(WsCloseCode.MessageTooBig);
  });

  it('at most WS_MAX_SUBSCRIPTIONS operations per connection: one more is refused with its code, the others live on', async () => {
    const gw = await ctx.extraGateway({ env: { WS_MAX_SUBSCRIPTIONS: '2' } });
    const { orgId, key } = await ctx.org([Scope.CustomersRead]);
    const customer = await seedCustomer(ctx.db, orgId);
    const client = clients.ws(gw.url, key);
    const first = clients.subscribe(client);
    const secondDone = deferred<void>();
    const second = client.subscribe(
      { query: 'subscription { customerStatusChanged { cursor } }' },
      { next: () => {}, error: () => {}, complete: () => secondDone.resolve() },
    );
    await subscribersAtLeast(gw.services.bus, 2);
    const third = clients.subscribe(client);
    const { error } = await third.ended.promise;
    expect(error).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: GraphQLErrorCode.MaxSubscriptionsExceeded }) }),
    ]);

    await moveKyc(ctx.db, orgId, customer.id, 'PENDING');
    await first.waitFor(1);

    // One ends: there is room again.
    second();
    await subscribersAtMost(gw.services.bus, 1);
    const fourth = clients.subscribe(client);
    await subscribersAtLeast(gw.services.bus, 2);
    await moveKyc(ctx.db, orgId, customer.id, 'IN_PROGRESS');
    await fourth.waitFor(1);
    expect(fourth.changes[0].kyc.to).toBe('IN_PROGRESS');
  });
});

describe(`health endpoints (${dbKind})`, () => {
  it('/livez and its alias /healthz answer 200; /readyz answers 200 with its checks', async () => {
    for (const path of ['/livez', '/healthz']) {
      const res = await fetch(`${ctx.gw.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
    const ready = await fetch(`${ctx.gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: { database: 'ok', migrations: 'ok', listener: 'ok', accepting: 'ok' },
    });
    expect(ready.headers.get('x-request-id')).toMatch(/\S+/);
  });
});
