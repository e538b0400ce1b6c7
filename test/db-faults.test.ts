// PostgreSQL faults under load (SPEC section 9), each on a throw-away cluster of this file (never
// the shared server, which other suites and engineers use): the server crashes (`pg_ctl stop -m
// immediate`) for 5 s and comes back, and the pooled connections are terminated
// (pg_terminate_backend, 57P01). Throughout, REST and GraphQL reads and writes keep coming:
// every failure must be 503 `unavailable` with Retry-After (GraphQL `UNAVAILABLE`), never 500;
// requests succeed again within a second of the server's return; the LISTEN connection comes
// back, so status changes reach subscribers at NOTIFY latency again (not the bus's 1 s poll),
// and none committed around the outage is lost. The measured figures are printed.
//
// The shared fixture (useGateway) lives on the shared server, so this file opens its gateway
// over its own cluster, and disposes both in afterAll.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.js';
import { EventBus } from '../src/events/bus.js';
import { createLogger } from '../src/ops/logger.js';
import { isDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../src/db/errors.js';
import { openMigratedDatabase } from '../src/db/open.js';
import { GraphQLErrorCode } from '../src/graphql/context.js';
import { ErrorCode } from '../src/lib/error-codes.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { onPostgres } from './helpers/db.js';
import { deferred } from './helpers/deferred.js';
import { issueKey, startGateway, uniqueOrg, type TestGateway } from './helpers/gateway.js';
import { createPgCluster, type PgCluster } from './helpers/pg-cluster.js';
import { Received, STATUS_SUBSCRIPTION, subscribersAtLeast, type Result } from './helpers/subscriptions.js';

/** How long the server stays down. */
const OUTAGE_MS = 5_000;
/** Requests must succeed again within this long of the server accepting connections. */
const RECOVERY_BOUND_MS = 1_000;
/** Commit → delivery median of a subscriber over NOTIFY; the gateway's fallback poll (every 1000 ms) gives ~500. */
const NOTIFY_LATENCY_BOUND_MS = 400;
/** Every delivery of a bus without a poll (it has NOTIFY only) arrives within this. */
const NO_POLL_DELIVERY_BOUND_MS = 1_000;
const LATENCY_SAMPLES = 15;
/** Every request answers within this (connect timeout 2 s, below): none may hang. */
const REQUEST_BOUND_MS = 10_000;
const CONNECT_TIMEOUT_MS = 2_000;
/** Each scenario runs for seconds by design; more on a loaded machine. */
const TEST_TIMEOUT_MS = 90_000;

type Surface = 'rest-read' | 'rest-write' | 'gql-read' | 'gql-write';
interface Outcome {
  surface: Surface;
  sentAt: number;
  doneAt: number;
  status: number;
  /** REST error code or GraphQL extensions.code of a failure. */
  code: string | null;
  retryAfter: string | null;
}

/** Steady REST and GraphQL traffic (reads and keyed writes) from a few workers, recorded. */
class Load {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private readonly workers: Promise<void>[];

  constructor(
    private readonly url: string,
    private readonly key: string,
    workers: number,
  ) {
    this.workers = Array.from({ length: workers }, (_, i) => this.work(i));
  }

  private async work(worker: number): Promise<void> {
    const surfaces: Surface[] = ['rest-read', 'rest-write', 'gql-read', 'gql-write'];
    for (let n = worker; this.running; n++) {
      const surface = surfaces[n % surfaces.length]!;
      this.outcomes.push(await this.send(surface));
      // Pacing, so that a fast stream of 503s does not starve the rest of the machine.
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async send(surface: Surface): Promise<Outcome> {
    const sentAt = performance.now();
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' };
    const email = `load-${randomUUID()}@example.com`;
    let path = '/graphql';
    let method = 'POST';
    let body: string | undefined;
    if (surface === 'rest-read') {
      path = '/api/v1/customers?limit=5';
      method = 'GET';
    } else if (surface === 'rest-write') {
      path = '/api/v1/customers';
      headers['idempotency-key'] = randomUUID();
      body = JSON.stringify({ fullName: 'Load Writer', email });
    } else if (surface === 'gql-read') {
      body = JSON.stringify({ query: '{ customers(first: 5) { edges { node { id kycStatus } } } }' });
    } else {
      body = JSON.stringify({
        query: `mutation($input: UpsertCustomerInput!, $key: String) {
          upsertCustomer(input: $input, idempotencyKey: $key) { __typename ... on UpsertCustomerSuccess { outcome } } }`,
        variables: { input: { fullName: 'Load Writer', email }, key: randomUUID() },
      });
    }
    try {
      const res = await fetch(`${this.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(REQUEST_BOUND_MS) });
      const json = (await res.json()) as { error?: { code?: string }; errors?: { extensions?: { code?: string } }[]; data?: unknown };
      let code = json.error?.code ?? json.errors?.[0]?.extensions?.code ?? null;
      if (res.status === 200 && surface === 'gql-write' && !JSON.stringify(json.data).includes('UpsertCustomerSuccess'))
        code = 'not-success';
      return { surface, sentAt, doneAt: performance.now(), status: res.status, code, retryAfter: res.headers.get('retry-after') };
    } catch (error) {
      // A request that got no answer (timeout, reset): status 0, reported by the assertions.
      return { surface, sentAt, doneAt: performance.now(), status: 0, code: String(error), retryAfter: null };
    }
  }

  async stop(): Promise<Outcome[]> {
    this.running = false;
    await Promise.all(this.workers);
    return this.outcomes;
  }
}

/** The failures that break the contract: anything but 2xx or a proper 503. */
function contractBreaches(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => {
    if (o.status >= 200 && o.status < 300 && o.code === null) return false;
    if (o.status !== 503 || o.retryAfter !== String(UNAVAILABLE_RETRY_AFTER_SECONDS)) return true;
    return o.code !== (o.surface.startsWith('rest') ? ErrorCode.Unavailable : GraphQLErrorCode.Unavailable);
  });
}

/** Fails with a clear message instead of the test's timeout when `p` takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const ok = (o: Outcome) => o.status >= 200 && o.status < 300 && o.code === null;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x);

/** A subscription that records when each message arrived. */
class TimedReceived extends Received {
  readonly times: number[] = [];
  override push(r: Result): void {
    this.times.push(performance.now());
    super.push(r);
  }
}

describe.runIf(onPostgres)('database faults on a throw-away PostgreSQL cluster', () => {
  let cluster: PgCluster;
  let db: Database;
  let gw: TestGateway;
  let key: string;
  let orgId: string;
  /** Subscriptions and clients opened by a test, disposed when it ends. */
  const disposers: (() => unknown)[] = [];

  beforeAll(async () => {
    cluster = await createPgCluster();
    ({ db } = await openMigratedDatabase({ kind: 'postgres', url: cluster.url, poolSize: 8, connectTimeoutMs: CONNECT_TIMEOUT_MS }));
    gw = await startGateway(db);
    ({ key, orgId } = await issueKey(db, uniqueOrg('faults')));
  });
  afterEach(async () => {
    for (const d of disposers.splice(0).reverse()) await Promise.resolve(d()).catch(() => {});
    // A test that failed during an outage leaves the server up for the next one.
    if (!cluster.running) await cluster.start();
  });
  afterAll(async () => {
    await gw?.close();
    await db?.close();
    cluster?.destroy();
  });

  /** A graphql-ws subscription to the organisation's status changes, timed. */
  function subscribe(client: Client, variables: Record<string, unknown> = {}): TimedReceived {
    const rec = new TimedReceived();
    const stop = client.subscribe<unknown>(
      { query: STATUS_SUBSCRIPTION, variables },
      { next: (r) => rec.push(r as Result), error: (error) => rec.ended.resolve({ error }), complete: () => rec.ended.resolve({}) },
    );
    disposers.push(stop);
    return rec;
  }

  /** A graphql-ws client, connected (not lazy) before it returns. */
  async function connectedClient(url: string): Promise<Client> {
    const connected = deferred();
    const client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      lazy: false,
      retryAttempts: 0,
      on: { connected: () => connected.resolve() },
    });
    disposers.push(() => client.dispose());
    await connected.promise;
    return client;
  }

  /** Cycles one customer's KYC IN_PROGRESS ⇄ AWAITING_RESUBMISSION (an endless valid walk). */
  async function kycWalker() {
    const c = await seedCustomer(db, orgId);
    await moveKyc(db, orgId, c.id, 'PENDING');
    await moveKyc(db, orgId, c.id, 'IN_PROGRESS');
    let awaiting = false;
    return {
      id: c.id,
      async step(): Promise<string> {
        awaiting = !awaiting;
        const to = awaiting ? 'AWAITING_RESUBMISSION' : 'IN_PROGRESS';
        await moveKyc(db, orgId, c.id, to);
        return `${c.id}:${to}`;
      },
    };
  }

  /**
   * Commit → delivery latency of `n` changes made one at a time, on each subscription (ms, from
   * the commit's acknowledgement); a delivery slower than `bound` fails at once.
   */
  async function latencies(
    subs: TimedReceived[],
    walker: Awaited<ReturnType<typeof kycWalker>>,
    n: number,
    bound = 5_000,
  ): Promise<number[][]> {
    const out: number[][] = subs.map(() => []);
    for (let i = 0; i < n; i++) {
      const before = subs.map((s) => s.results.length);
      await walker.step();
      const committedAt = performance.now();
      await within(Promise.all(subs.map((s, j) => s.waitFor(before[j]! + 1))), bound, `change ${i} delivered`);
      subs.forEach((s, j) => out[j]!.push(Math.max(0, s.times[before[j]!]! - committedAt)));
    }
    return out;
  }

  /**
   * A subscription on a bus of its own whose fallback poll never fires during the test: it
   * learns of changes only through NOTIFY (and the catch-up when the LISTEN connection returns).
   */
  async function noPollSubscription(): Promise<TimedReceived> {
    const bus = new EventBus(db, {
      bufferSize: 1000,
      retentionDays: 7,
      pollMs: 600_000,
      now: () => new Date(),
      log: createLogger('silent'),
    });
    disposers.push(() => bus.close());
    const seen = new TimedReceived();
    const sub = await bus.subscribe(orgId, {});
    void (async () => {
      for await (const d of sub) {
        if (d.type !== 'change') continue;
        seen.push({
          data: { customerStatusChanged: { cursor: d.change.cursor, customer: { id: d.change.customerId }, kyc: { to: d.change.kycTo } } },
        });
      }
    })();
    return seen;
  }

  const changesOf = (r: Received) => r.changes.map((c) => `${c.customer.id}:${c.kyc.to}`);

  it(
    'crash (stop -m immediate) for 5 s under load: only 503s, success within 1 s of the return, LISTEN back at NOTIFY latency, nothing lost',
    async () => {
      const walker = await kycWalker();
      const live = subscribe(await connectedClient(gw.url));
      await subscribersAtLeast(gw.services.bus, 1);
      const noPoll = await noPollSubscription();
      // A second instance whose bus has not started yet: its first subscriber arrives during the outage.
      const gw2 = await startGateway(db);
      disposers.push(() => gw2.close());

      const load = new Load(gw.url, key, 4);
      const [before, noPollBefore] = (await latencies([live, noPoll], walker, LATENCY_SAMPLES)) as [number[], number[]];
      const lastBefore = live.changes.at(-1).cursor as string;

      // Changes acknowledged just before the crash: their NOTIFY may be lost with the server.
      const expected = [...changesOf(live)];
      for (let i = 0; i < 3; i++) expected.push(await walker.step());
      const statusBeforeStop = db.listenerStatus();
      expect(statusBeforeStop.state).toBe('connected');

      const downAt = performance.now();
      await cluster.stop('immediate');
      const stoppedAt = performance.now();
      const lost = deferred();
      const stopWatching = db.onListenerStatus((s) => s.state === 'disconnected' && lost.resolve());
      if (db.listenerStatus().state === 'disconnected') lost.resolve();
      await lost.promise;
      stopWatching();

      // The first subscriber of an instance whose bus cannot start: a clear error, at once (the
      // GraphQL surface maps it to UNAVAILABLE like any other; db-unavailable-pglite.test.ts).
      const earlyAt = performance.now();
      const early = await gw2.services.bus.subscribe(orgId, {}).then(
        () => null,
        (error: unknown) => error,
      );
      const earlyMs = performance.now() - earlyAt;
      expect(isDatabaseUnavailable(early)).toBe(true);
      expect(earlyMs).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);

      // The outage itself: the load keeps coming (the one wait in this file that is the scenario, not an event).
      await new Promise((r) => setTimeout(r, OUTAGE_MS - (performance.now() - downAt)));
      const reconnected = deferred();
      const watch = db.onListenerStatus((s) => s.state === 'connected' && reconnected.resolve());
      const startAt = performance.now();
      await cluster.start();
      // pg_ctl reports the server ready; requests may have succeeded a little earlier.
      const upAt = performance.now();

      // Changes committed as soon as the server is back: likely before the LISTEN is (their NOTIFY goes nowhere).
      for (let i = 0; i < 3;) {
        try {
          expected.push(await walker.step());
          i++;
        } catch {
          // Still recovering; the loop ends once writes go through.
        }
      }
      const firstWriteAfterMs = performance.now() - upAt;
      await within(reconnected.promise, 10_000, 'the LISTEN connection back after the server');
      watch();
      const listenerBackMs = performance.now() - upAt;
      expect(db.listenerStatus()).toMatchObject({ state: 'connected', lastError: null });
      expect(db.listenerStatus().reconnects).toBeGreaterThan(statusBeforeStop.reconnects);

      await within(live.waitFor(expected.length), 5_000, 'every change on the live subscription');
      await within(noPoll.waitFor(expected.length), 5_000, 'every change on the bus without a poll');
      expect(changesOf(live)).toEqual(expected);
      expect(changesOf(noPoll)).toEqual(expected);
      // Without LISTEN the bus without a poll would get nothing within the bound.
      const [after, noPollAfter] = (await latencies([live, noPoll], walker, LATENCY_SAMPLES, NO_POLL_DELIVERY_BOUND_MS)) as [
        number[],
        number[],
      ];
      // Resume across the outage, on the instance whose bus could not start during it.
      const resumed = subscribe(await connectedClient(gw2.url), { after: lastBefore });
      const all = changesOf(live);
      await resumed.waitFor(all.length - LATENCY_SAMPLES);
      expect(changesOf(resumed)).toEqual(all.slice(LATENCY_SAMPLES));

      const outcomes = await load.stop();

      const breaches = contractBreaches(outcomes);
      const during = outcomes.filter((o) => o.sentAt >= stoppedAt && o.doneAt <= startAt);
      const firstSuccess = Object.fromEntries(
        (['rest-read', 'rest-write', 'gql-read', 'gql-write'] as const).map((s) => [
          s,
          round((outcomes.find((o) => o.surface === s && o.sentAt >= upAt && ok(o))?.doneAt ?? Infinity) - upAt),
        ]),
      );
      const lateFailures = outcomes.filter((o) => o.sentAt >= upAt + RECOVERY_BOUND_MS && !ok(o));
      const figures = {
        requests: outcomes.length,
        ok: outcomes.filter(ok).length,
        status503: outcomes.filter((o) => o.status === 503).length,
        status500: outcomes.filter((o) => o.status === 500).length,
        breaches: breaches.length,
        requestsDuringOutage: during.length,
        serverStartMs: round(upAt - startAt),
        slowestAnswerMs: round(Math.max(...outcomes.map((o) => o.doneAt - o.sentAt))),
        slowestAnswerDuringOutageMs: round(Math.max(0, ...during.map((o) => o.doneAt - o.sentAt))),
        firstSuccessAfterReturnMs: firstSuccess,
        firstStatusChangeWriteAfterReturnMs: round(firstWriteAfterMs),
        listenerBackAfterReturnMs: round(listenerBackMs),
        firstSubscriberDuringOutageAnsweredMs: round(earlyMs),
        deliveryLatencyBeforeMs: { median: round(median(before)), max: round(Math.max(...before)) },
        deliveryLatencyAfterMs: { median: round(median(after)), max: round(Math.max(...after)) },
        noPollBusLatencyBeforeMs: { median: round(median(noPollBefore)), max: round(Math.max(...noPollBefore)) },
        noPollBusLatencyAfterMs: { median: round(median(noPollAfter)), max: round(Math.max(...noPollAfter)) },
      };
      console.log(`db-faults (immediate stop for ${OUTAGE_MS} ms):`, JSON.stringify(figures, null, 1));

      expect(breaches.slice(0, 5)).toEqual([]);
      expect(during.length).toBeGreaterThan(0);
      expect(during.every((o) => o.status === 503)).toBe(true);
      expect(figures.slowestAnswerMs).toBeLessThan(REQUEST_BOUND_MS);
      for (const ms of Object.values(firstSuccess)) expect(ms).toBeLessThan(RECOVERY_BOUND_MS);
      expect(lateFailures).toEqual([]);
      expect(median(before)).toBeLessThan(NOTIFY_LATENCY_BOUND_MS);
      expect(median(after)).toBeLessThan(NOTIFY_LATENCY_BOUND_MS);
      // The gateway kept running.
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'pg_terminate_backend of every pooled connection (57P01), repeatedly, under load: 503 or success, never 500; LISTEN comes back',
    async () => {
      const walker = await kycWalker();
      const live = subscribe(await connectedClient(gw.url));
      await subscribersAtLeast(gw.services.bus, 1);
      const noPoll = await noPollSubscription();
      const load = new Load(gw.url, key, 4);
      const reconnectsBefore = db.listenerStatus().reconnects;
      const expected: string[] = [];
      let terminated = 0;
      for (let round = 0; round < 5; round++) {
        expected.push(await walker.step());
        const rows = await cluster.sql<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = 'postgres' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        );
        terminated += rows[0]!.n;
        await new Promise((r) => setTimeout(r, 300));
      }
      const back = deferred();
      const watch = db.onListenerStatus((s) => s.state === 'connected' && back.resolve());
      if (db.listenerStatus().state === 'connected' && db.listenerStatus().reconnects > reconnectsBefore) back.resolve();
      await within(back.promise, 10_000, 'the LISTEN connection back');
      watch();
      await within(live.waitFor(expected.length), 5_000, 'every change on the live subscription');
      await within(noPoll.waitFor(expected.length), 5_000, 'every change on the bus without a poll');
      expect(changesOf(live)).toEqual(expected);
      expect(changesOf(noPoll)).toEqual(expected);
      const [after] = (await latencies([live, noPoll], walker, 5, NO_POLL_DELIVERY_BOUND_MS)) as [number[], number[]];
      const outcomes = await load.stop();

      const figures = {
        requests: outcomes.length,
        ok: outcomes.filter(ok).length,
        status503: outcomes.filter((o) => o.status === 503).length,
        status500: outcomes.filter((o) => o.status === 500).length,
        connectionsTerminated: terminated,
        listenerReconnects: db.listenerStatus().reconnects - reconnectsBefore,
        deliveryLatencyAfterMs: { median: round(median(after)), max: round(Math.max(...after)) },
      };
      console.log('db-faults (pg_terminate_backend ×5):', JSON.stringify(figures, null, 1));
      expect(contractBreaches(outcomes).slice(0, 5)).toEqual([]);
      expect(terminated).toBeGreaterThan(5);
      expect(figures.listenerReconnects).toBeGreaterThan(0);
      expect(median(after)).toBeLessThan(NOTIFY_LATENCY_BOUND_MS);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a change committed while the LISTEN connection is down reaches a bus with no poll as soon as it is back (catch-up on reconnection)',
    async () => {
      const walker = await kycWalker();
      // Its NOTIFY goes to no listener: only the catch-up on reconnection can deliver it.
      const seen = await noPollSubscription();
      const first = await walker.step();
      await within(seen.waitFor(1), 2_000, 'a change over NOTIFY');

      // Keep the LISTEN connection down while a change commits: new sessions are refused (the
      // pool keeps its open ones), then the listener's session is terminated.
      await db.prisma.$queryRaw`SELECT 1`;
      const admin = cluster.urlOf('template1');
      await cluster.sql('ALTER DATABASE postgres WITH ALLOW_CONNECTIONS false', [], admin);
      disposers.push(() => cluster.sql('ALTER DATABASE postgres WITH ALLOW_CONNECTIONS true', [], admin));
      const down = deferred();
      const unwatch = db.onListenerStatus((s) => s.state === 'disconnected' && down.resolve());
      disposers.push(unwatch);
      await cluster.sql(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'postgres' AND query LIKE 'LISTEN%'`,
        [],
        admin,
      );
      await within(down.promise, 5_000, 'the listener noticing its loss');
      const second = await walker.step();
      expect(db.listenerStatus().state).toBe('disconnected');
      expect(seen.results).toHaveLength(1);

      const back = deferred();
      const watch = db.onListenerStatus((s) => s.state === 'connected' && back.resolve());
      disposers.push(watch);
      await cluster.sql('ALTER DATABASE postgres WITH ALLOW_CONNECTIONS true', [], admin);
      await within(back.promise, 5_000, 'the LISTEN connection back');
      await within(seen.waitFor(2), 1_000, 'the change committed while it was down');
      expect(changesOf(seen)).toEqual([first, second]);
    },
    TEST_TIMEOUT_MS,
  );
});
