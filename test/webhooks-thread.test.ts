// The webhook sender in its own thread (WEBHOOK_SENDER_THREAD, the default on PostgreSQL;
// src/webhooks/sender-thread.ts): it sends while the API thread is busy, the instance's /metrics
// counts its attempts, a thread that dies is started again and loses nothing, and close() lets
// the attempt in flight finish and be recorded. On the embedded database it runs inline.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { APPLICATION_NAME, openDatabase, type Database } from '../src/db/client.js';
import { createLogger } from '../src/ops/logger.js';
import { createWebhooks } from '../src/webhooks/index.js';
import { WebhookEventType } from '../src/webhooks/event-types.js';
import { WebhookSender } from '../src/webhooks/sender.js';
import { ThreadedSender } from '../src/webhooks/sender-thread.js';
import { moveKyc, seedCustomer } from './helpers/customers.js';
import { onPostgres } from './helpers/db.js';
import { deferred } from './helpers/deferred.js';
import { useGateway } from './helpers/fixture.js';
import { testConfig, type TestGateway } from './helpers/gateway.js';
import { scrape, sumOf } from './helpers/metrics.js';
import { createEndpoint, Receiver, recorded, SENDER_ENV, type Behaviour } from './helpers/webhooks.js';

const THREAD_ENV = { ...SENDER_ENV, WEBHOOK_SENDER_THREAD: 'true' };

/** Connections of this database opened by sender threads (they name themselves). */
async function senderConnections(db: Database): Promise<number> {
  const rows = await db.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = ${`${APPLICATION_NAME} webhook sender`}`;
  return rows[0]!.n;
}

function threadOf(gw: TestGateway): ThreadedSender {
  const sender = gw.services.webhooks.sender;
  if (!(sender instanceof ThreadedSender)) throw new Error('this gateway does not run its sender in a thread');
  return sender;
}

describe.runIf(onPostgres)('webhook sender in its own thread (PostgreSQL)', () => {
  const ctx = useGateway({ poolSize: 6 });

  /**
   * A gateway (own pool) whose sender runs in its thread, its log lines captured, and an
   * organisation with an endpoint for KYC changes on a receiver behaving as `behaviour`; returns
   * once the thread is ready.
   */
  async function threadedSetup(behaviour?: Behaviour) {
    const lines: string[] = [];
    const gw = await ctx.extraGateway({
      env: { ...THREAD_ENV, LOG_LEVEL: 'info' },
      ownPool: 2,
      log: createLogger('info', (l) => lines.push(l)),
    });
    const { orgId } = await ctx.org();
    const receiver = await Receiver.start(behaviour);
    const endpoint = await createEndpoint(gw.services, orgId, receiver.url(), [WebhookEventType.KycStatusChanged]);
    const sender = threadOf(gw);
    // The thread is started, listening, and has caught up once: under a loaded machine its start
    // (a module graph loaded in a new isolate) can take seconds, and a commit before its LISTEN
    // waits for the fallback poll.
    await sender.wake();
    return { gw, sender, lines, orgId, receiver, endpoint };
  }

  it('sends signed webhooks while the API thread is blocked, and the instance counts them in /metrics', { timeout: 30_000 }, async () => {
    const { gw, sender, lines, orgId, receiver, endpoint } = await threadedSetup();
    const { id, secret } = endpoint;
    const customer = await seedCustomer(ctx.db, orgId);
    const done = recorded(gw.services, id);
    await moveKyc(ctx.db, orgId, customer.id, 'PENDING');
    // The commit is done; now nothing runs on this thread for 2 s. An inline sender could not
    // even start the attempt before it ends; the thread starts it within its fan-out interval.
    const blockedFrom = Date.now();
    while (Date.now() - blockedFrom < 2000) {
      /* busy: the API thread is taken */
    }
    const blockedUntil = Date.now();
    await receiver.waitFor(1);
    await done;
    const delivery = await ctx.db.prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: id } });
    expect(delivery.status).toBe('DELIVERED');
    expect(delivery.lastAttemptAt!.getTime()).toBeGreaterThanOrEqual(blockedFrom);
    expect(delivery.lastAttemptAt!.getTime()).toBeLessThan(blockedUntil);
    // Signed as inline: a verifier nobody here wrote accepts it.
    const [first] = receiver.received;
    const verified = new Webhook(secret).verify(first!.body, first!.headers) as { type: string; data: { customer: { id: string } } };
    expect(verified).toMatchObject({ type: WebhookEventType.KycStatusChanged, data: { customer: { id: customer.id } } });
    // The thread's attempts are the instance's: forwarded to this thread's metrics.
    const { samples } = await scrape(gw.url);
    expect(sumOf(samples, 'gateway_webhook_attempts_total', { outcome: 'delivered' })).toBe(1);
    expect(sumOf(samples, 'gateway_webhook_attempt_duration_seconds_count', { outcome: 'delivered' })).toBe(1);
    expect(samples.find((s) => s.name === 'gateway_webhook_sender_restarts_total')?.value).toBe(0);
    expect(lines.some((l) => l.includes('webhook sender running in its own thread'))).toBe(true);
    expect(sender.thread).not.toBeNull();
    // Its own connections, named for the operator: at least the LISTEN one and the pool's in use.
    expect(await senderConnections(ctx.db)).toBeGreaterThanOrEqual(2);
  });

  it('a thread that dies is started again, and its deliveries go out', { timeout: 30_000 }, async () => {
    const { gw, sender, lines, orgId, receiver, endpoint } = await threadedSetup();
    const { id } = endpoint;
    const dead = sender.thread!;
    await dead.terminate();
    expect(sender.thread).toBeNull();
    expect(lines.some((l) => l.includes('webhook sender thread stopped; starting it again'))).toBe(true);
    // Written while no thread runs: the restarted one finds it (the log is the source of truth).
    const customer = await seedCustomer(ctx.db, orgId);
    await moveKyc(ctx.db, orgId, customer.id, 'PENDING');
    await receiver.waitFor(1);
    expect(sender.thread).not.toBeNull();
    expect(sender.thread).not.toBe(dead);
    expect(sumOf((await scrape(gw.url)).samples, 'gateway_webhook_sender_restarts_total')).toBe(1);
    await expect.poll(() => ctx.db.prisma.webhookDelivery.count({ where: { endpointId: id, status: 'DELIVERED' } })).toBe(1);
  });

  it('close() waits for the attempt in flight, which is recorded, then the thread is gone', { timeout: 30_000 }, async () => {
    const arrived = deferred();
    const answer = deferred();
    const { sender, orgId, receiver, endpoint } = await threadedSetup(async () => {
      arrived.resolve();
      await answer.promise;
      return 200;
    });
    const { id } = endpoint;
    const customer = await seedCustomer(ctx.db, orgId);
    await moveKyc(ctx.db, orgId, customer.id, 'PENDING');
    await arrived.promise;
    const thread = sender.thread!;
    let closed = false;
    const closing = sender.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(closed).toBe(false);
    answer.resolve();
    await closing;
    expect(sender.thread).toBeNull();
    expect(thread.threadId).toBe(-1); // exited
    const delivery = await ctx.db.prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: id } });
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(receiver.received).toHaveLength(1);
    // Its connections closed with it.
    await expect.poll(() => senderConnections(ctx.db)).toBe(0);
  });
});

describe.runIf(!onPostgres)('webhook sender on the embedded database', () => {
  it('runs inline even when a thread is asked for: the embedded database lives in this thread', async () => {
    const db = await openDatabase({ kind: 'memory' });
    try {
      const webhooks = createWebhooks(testConfig({ ...THREAD_ENV }), db, { now: () => new Date(), log: createLogger('silent') });
      expect(webhooks.sender).toBeInstanceOf(WebhookSender);
      await webhooks.close();
    } finally {
      await db.close();
    }
  });
});
