// Graceful shutdown (SPEC section 9). In process: what close({ graceful }) does to each kind
// of connection. As production runs it (`npm start`, a real child process, SIGTERM): under
// keep-alive load of reads and idempotent writes, no connection is reset, every request sent
// before the signal is answered in full, every write answered 2xx is in the database, answers
// during the drain carry Connection: close, /readyz turns 503 at once, WebSocket clients get
// 1001, SSE streams end, and the process exits 0 within SHUTDOWN_TIMEOUT_MS.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { WsCloseCode } from '../src/server.js';
import { createTestDatabase, dbKind, onPostgres } from './helpers/db.js';
import { deferred } from './helpers/deferred.js';
import { useGateway } from './helpers/fixture.js';
import { issueKey, uniqueOrg } from './helpers/gateway.js';
import { startNpm } from './helpers/process.js';
import { RawConnection, rawRequest, type RawResponse } from './helpers/raw-http.js';
import { Clients, subscribersAtLeast } from './helpers/subscriptions.js';

const ctx = useGateway();
const clients = new Clients();
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await clients.closeAll();
});

async function connect(url: string): Promise<RawConnection> {
  const c = await RawConnection.open(url);
  connections.push(c);
  return c;
}

function expectUnavailable(res: RawResponse): void {
  expect(res.status).toBe(503);
  expect(res.headers['x-request-id']).toMatch(/\S+/);
  expect(JSON.parse(res.body)).toEqual({
    error: {
      code: 'unavailable',
      message: expect.any(String),
      details: { failing: ['accepting'], checks: { database: 'ok', migrations: 'ok', listener: 'ok', accepting: 'failing' } },
    },
  });
}

describe(`close({ graceful }) in process (${dbKind})`, () => {
  it('readiness fails at once, answers carry Connection: close, WebSocket clients get 1001, SSE streams end, the listener refuses', async () => {
    const gw = await ctx.extraGateway();
    const { key } = await ctx.org([Scope.CustomersRead]);
    const kept = await connect(gw.url);
    await kept.write(rawRequest('GET', '/readyz'));
    const before = await kept.response();
    expect(before.status).toBe(200);
    expect(before.headers.connection).toBe('keep-alive');

    const wsClosed = deferred<number>();
    clients.subscribe(clients.ws(gw.url, key, (s) => s.on('close', (code) => wsClosed.resolve(code))));
    const sse = clients.sse(gw.url, key);
    await subscribersAtLeast(gw.services.bus, 2);

    const closing = gw.server.close({ graceful: true, timeoutMs: 20_000 });
    expect(gw.server.draining).toBe(true);
    await kept.write(rawRequest('GET', '/readyz'));
    const during = await kept.response();
    expectUnavailable(during);
    expect(during.headers.connection).toBe('close');
    expect(await kept.closed.promise).toEqual({});

    expect(await wsClosed.promise).toBe(WsCloseCode.GoingAway);
    expect(await sse.ended.promise).toEqual({});
    await expect(RawConnection.open(gw.url)).rejects.toThrow(/ECONNREFUSED/);
    await clients.closeAll();
    await closing;
  });

  it('a write in flight when the drain starts commits and is answered in full, with Connection: close', async () => {
    const gw = await ctx.extraGateway();
    const { key, orgId } = await ctx.org([Scope.CustomersWrite]);
    const inside = deferred<void>();
    const release = deferred<void>();
    gw.services.testHooks.insideWriteTransaction = async () => {
      inside.resolve();
      await release.promise;
    };
    const c = await connect(gw.url);
    const body = JSON.stringify({ externalId: 'in-flight', fullName: 'In Flight', email: 'in-flight@example.com' });
    await c.write(
      rawRequest(
        'POST',
        '/api/v1/customers',
        { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'k1' },
        body,
      ),
    );
    await inside.promise;
    const closing = gw.server.close({ graceful: true, timeoutMs: 20_000 });
    release.resolve();
    const res = await c.response();
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ external_id: 'in-flight' });
    expect(res.headers.connection).toBe('close');
    await closing;
    expect(await ctx.db.prisma.customer.count({ where: { orgId, externalId: 'in-flight' } })).toBe(1);
  });

  it('only connections still busy at the timeout are cut, and close() resolves then', async () => {
    const gw = await ctx.extraGateway();
    const { key } = await ctx.org([Scope.CustomersWrite]);
    const busy = await connect(gw.url);
    // A request whose body never ends: the handler is still reading it at the timeout.
    await busy.write(
      rawRequest('POST', '/api/v1/customers', {
        Authorization: `Bearer ${key}`,
        'Content-Type': 'application/json',
        'Content-Length': '100',
      }) + '{"fullName":',
    );
    const idle = await connect(gw.url);
    await idle.write(rawRequest('GET', '/livez'));
    expect((await idle.response()).status).toBe(200);
    const started = performance.now();
    await gw.server.close({ graceful: true, timeoutMs: 500 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(500 - 5);
    await busy.closed.promise;
  });
});

/** One keep-alive client's request and what became of it. */
interface Outcome {
  kind: 'write' | 'read' | 'graphql';
  /** Sent after the test sent SIGTERM. */
  afterSignal: boolean;
  status?: number;
  connectionClose?: boolean;
  /** The body parsed as JSON (an answer "in full"). */
  json?: unknown;
  externalId?: string;
  error?: string;
}

interface LoadState {
  signalled: boolean;
  answered: number;
  onAnswer: () => void;
}

/** One HTTP request on `agent`'s single keep-alive connection; resolves with the whole answer. */
function send(agent: http.Agent, port: number, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A client on one keep-alive connection: write, read, GraphQL, … until an answer says Connection: close. */
async function keepAliveClient(id: number, port: number, key: string, state: LoadState): Promise<Outcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const outcomes: Outcome[] = [];
  const auth = { authorization: `Bearer ${key}` };
  try {
    for (let n = 0; ; n++) {
      const kind = (['write', 'read', 'graphql'] as const)[n % 3]!;
      const outcome: Outcome = { kind, afterSignal: state.signalled };
      outcomes.push(outcome);
      try {
        let res;
        if (kind === 'write') {
          outcome.externalId = `load-${id}-${n}`;
          const body = JSON.stringify({
            externalId: outcome.externalId,
            fullName: `Load ${id} ${n}`,
            email: `load-${id}-${n}@example.com`,
          });
          res = await send(
            agent,
            port,
            'POST',
            '/api/v1/customers',
            { ...auth, 'content-type': 'application/json', 'idempotency-key': `idem-${id}-${n}` },
            body,
          );
        } else if (kind === 'read') {
          res = await send(agent, port, 'GET', '/api/v1/customers?limit=5', auth);
        } else {
          const body = JSON.stringify({ query: '{ customers(first: 5) { edges { node { id externalId } } } }' });
          res = await send(agent, port, 'POST', '/graphql', { ...auth, 'content-type': 'application/json' }, body);
        }
        outcome.status = res.status;
        outcome.connectionClose = res.headers.connection === 'close';
        outcome.json = JSON.parse(res.text);
        state.answered++;
        state.onAnswer();
        if (outcome.connectionClose) return outcomes;
      } catch (error) {
        outcome.error = (error as NodeJS.ErrnoException).code ?? String(error);
        return outcomes;
      }
    }
  } finally {
    agent.destroy();
  }
}

const CLIENTS = 16;
const SHUTDOWN_TIMEOUT_MS = 20_000;
const SPAWN_TIMEOUT = 180_000;

describe(`SIGTERM under keep-alive load, started with npm start (${dbKind})`, { timeout: SPAWN_TIMEOUT }, () => {
  it('no reset, no lost answer, every 2xx write durable, Connection: close while draining, 503 readiness, 1001, exit 0 in time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-shutdown-'));
    const t = onPostgres ? await createTestDatabase(2) : undefined;
    let verifyDb: Database | undefined;
    try {
      const env: Record<string, string> = {
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        ...(t ? { DATABASE_URL: t.url!, DATABASE_POOL_SIZE: '8' } : { DATABASE_URL: '', DATA_DIR: join(dir, 'data') }),
      };
      // On PostgreSQL the key is issued beforehand; a fresh embedded database prints its demo key.
      const issued = t ? await issueKey(t.db, uniqueOrg(), undefined, { perMinute: 10_000_000, perDay: 100_000_000 }) : undefined;
      const proc = await startNpm(env, /listening on http:\/\/localhost:(\d+)/);
      const port = Number(proc.match[1]);
      const key = issued?.key ?? (await proc.waitForOutput(/(ic_live_[A-Za-z0-9_-]+)/))[1]!;
      const base = `http://127.0.0.1:${port}`;

      // Subscribers on both transports.
      const wsClosed = [deferred<number>(), deferred<number>()];
      for (const closed of wsClosed) clients.subscribe(clients.ws(base, key, (s) => s.on('close', (code) => closed.resolve(code))));
      const sse = clients.sse(base, key);

      // Load until every client has had answers.
      const warmedUp = deferred<void>();
      const state: LoadState = {
        signalled: false,
        answered: 0,
        onAnswer: () => state.answered >= CLIENTS * 6 && warmedUp.resolve(),
      };
      const load = Array.from({ length: CLIENTS }, (_, i) => keepAliveClient(i, port, key, state));
      await warmedUp.promise;

      // The readiness probe: ready now; its next request starts before the signal (so its
      // connection is busy, not idle) and ends after it.
      const probe = await connect(base);
      await probe.write(rawRequest('GET', '/readyz'));
      expect((await probe.response()).status).toBe(200);
      await probe.write('GET /readyz HTTP/1.1\r\nHost: localhost\r\n');

      // SIGTERM with requests in flight.
      state.signalled = true;
      const signalledAt = performance.now();
      proc.child.kill('SIGTERM');

      // Readiness is 503 as soon as the signal is handled, while the drain goes on.
      await proc.waitForOutput(/shutting down/);
      await probe.write('\r\n');
      const during = await probe.response();
      expectUnavailable(during);
      expect(during.headers.connection).toBe('close');

      const outcomes = (await Promise.all(load)).flat();
      const code = await proc.exited;
      const exitMs = performance.now() - signalledAt;

      expect(code, proc.output()).toBe(0);
      expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      expect(proc.output()).not.toMatch(/were cut|unexpected error|shutdown failed/);

      // No reset and no lost answer: every request got a whole answer (a new connection after
      // the listener closed would be refused, but every client stopped at its Connection: close).
      const failed = outcomes.filter((o) => o.error !== undefined);
      expect(failed).toEqual([]);
      expect(outcomes.every((o) => o.json !== undefined)).toBe(true);
      expect(outcomes.filter((o) => !o.afterSignal).length).toBeGreaterThanOrEqual(CLIENTS * 6);
      const unexpected = outcomes.filter((o) => o.status! >= 300 && !(o.kind === 'write' && o.status === 409));
      expect(unexpected).toEqual([]);
      // Each connection ended with an answer that said so.
      const perClient = await Promise.all(load);
      expect(perClient.map((o) => o.at(-1)?.connectionClose)).toEqual(Array(CLIENTS).fill(true));

      expect(await Promise.all(wsClosed.map((d) => d.promise))).toEqual([WsCloseCode.GoingAway, WsCloseCode.GoingAway]);
      expect(await sse.ended.promise).toEqual({});

      // Every write answered 2xx is in the database.
      verifyDb = t ? t.db : await openDatabase({ kind: 'pglite', dataDir: join(dir, 'data') });
      const written = outcomes.filter((o) => o.kind === 'write' && o.status! < 300).map((o) => o.externalId!);
      expect(written.length).toBeGreaterThan(0);
      const stored = await verifyDb.prisma.customer.findMany({ where: { externalId: { in: written } }, select: { externalId: true } });
      expect(stored.map((s) => s.externalId).sort()).toEqual([...written].sort());
      console.info(
        `shutdown under load (${dbKind}): ${outcomes.length} requests (${outcomes.filter((o) => o.afterSignal).length} after SIGTERM), ` +
          `${written.length} writes, exit 0 after ${Math.round(exitMs)} ms`,
      );
    } finally {
      await clients.closeAll();
      if (!t) await verifyDb?.close();
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// WEB_CONCURRENCY (src/cluster.ts): one port served by several gateway processes; SIGTERM to the
// primary drains every worker with the same guarantees as one process. PostgreSQL only (PGlite
// is in-process and runs one process, with a warning: the last test).
describe.runIf(onPostgres)(`WEB_CONCURRENCY=2, started with npm start (${dbKind})`, { timeout: SPAWN_TIMEOUT }, () => {
  it('two workers serve one port, metrics of both on METRICS_PORT; SIGTERM: no reset, every answer whole, exit 0 in time', async () => {
    const t = await createTestDatabase(2);
    try {
      const issued = await issueKey(t.db, uniqueOrg(), undefined, { perMinute: 10_000_000, perDay: 100_000_000 });
      const proc = await startNpm(
        {
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
          SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
          DATABASE_URL: t.url!,
          DATABASE_POOL_SIZE: '4',
          WEB_CONCURRENCY: '2',
          METRICS_PORT: '0',
        },
        /listening on http:\/\/localhost:(\d+)/,
      );
      const port = Number(proc.match[1]);
      expect(proc.output().match(/"msg":"worker listening"/g)).toHaveLength(2);
      const metricsPort = Number((await proc.waitForOutput(/"port":(\d+),"msg":"cluster metrics listening"/))[1]);

      const warmedUp = deferred<void>();
      const state: LoadState = { signalled: false, answered: 0, onAnswer: () => state.answered >= CLIENTS * 6 && warmedUp.resolve() };
      const load = Array.from({ length: CLIENTS }, (_, i) => keepAliveClient(i, port, issued.key, state));
      await warmedUp.promise;

      // Connections are dealt round-robin: both workers answered, and the primary's scrape holds both.
      const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const served = (worker: string) =>
        scrape
          .split('\n')
          .filter((l) => l.startsWith('gateway_requests_total{') && l.includes(`worker="${worker}"`) && l.includes('surface="rest"'))
          .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
      expect(served('1')).toBeGreaterThan(0);
      expect(served('2')).toBeGreaterThan(0);

      state.signalled = true;
      const signalledAt = performance.now();
      proc.child.kill('SIGTERM');
      const outcomes = (await Promise.all(load)).flat();
      const code = await proc.exited;
      const exitMs = performance.now() - signalledAt;

      expect(code, proc.output()).toBe(0);
      expect(exitMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      expect(proc.output().match(/"code":0,"signal":null,"msg":"worker stopped"/g)).toHaveLength(2);
      expect(proc.output()).not.toMatch(/were cut|unexpected error|shutdown failed|worker died/);
      expect(outcomes.filter((o) => o.error !== undefined)).toEqual([]);
      expect(outcomes.every((o) => o.json !== undefined)).toBe(true);
      expect(outcomes.filter((o) => o.status! >= 300 && !(o.kind === 'write' && o.status === 409))).toEqual([]);
      const perClient = await Promise.all(load);
      expect(perClient.map((o) => o.at(-1)?.connectionClose)).toEqual(Array(CLIENTS).fill(true));

      const written = outcomes.filter((o) => o.kind === 'write' && o.status! < 300).map((o) => o.externalId!);
      const stored = await t.db.prisma.customer.findMany({ where: { externalId: { in: written } }, select: { externalId: true } });
      expect(stored.map((s) => s.externalId).sort()).toEqual([...written].sort());
      console.info(
        `cluster shutdown under load: ${outcomes.length} requests (${outcomes.filter((o) => o.afterSignal).length} after SIGTERM), ` +
          `worker 1 / 2 served ${served('1')} / ${served('2')} REST requests by the scrape, exit 0 after ${Math.round(exitMs)} ms`,
      );
    } finally {
      await clients.closeAll();
      await t.close();
    }
  });
});

describe.runIf(!onPostgres)(`WEB_CONCURRENCY on the embedded database (${dbKind})`, { timeout: SPAWN_TIMEOUT }, () => {
  it('runs one process and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-cluster-'));
    try {
      const proc = await startNpm(
        { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_URL: '', DATA_DIR: join(dir, 'data'), WEB_CONCURRENCY: '2' },
        /listening on http:\/\/localhost:(\d+)/,
      );
      expect(proc.output()).toMatch(/WEB_CONCURRENCY ignored: the embedded PGlite database lives inside one process/);
      expect(proc.output()).not.toMatch(/worker listening/);
      const res = await fetch(`http://127.0.0.1:${proc.match[1]}/livez`);
      expect(res.status).toBe(200);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
