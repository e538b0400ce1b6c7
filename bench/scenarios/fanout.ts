// Scenario 4: subscription fan-out. 1,000 / 5,000 / 10,000 graphql-ws subscribers of
// customerStatusChanged on one gateway instance, opened from the load generator; for each level
// a few KYC status changes are made and the time from the mutation (sent before its commit, so
// an upper bound of commit-to-arrival) to the arrival at each subscriber is measured; and the
// gateway's memory per subscriber (heap and RSS after a GC, minus the figures before any).
import WebSocket from 'ws';
import type { BenchContext, Scenario } from '../lib/context.js';
import { percentile } from '../lib/load.js';
import { ms, num, record } from '../lib/report.js';
import { upsertBody } from '../lib/requests.js';

/** Subscriber counts, cumulative (BENCH_FANOUT_LEVELS, default 1000,5000,10000). */
const LEVELS = (process.env.BENCH_FANOUT_LEVELS ?? '1000,5000,10000').split(',').map(Number);
/** Status changes measured per level (BENCH_FANOUT_CHANGES, default 5). */
const CHANGES = Number(process.env.BENCH_FANOUT_CHANGES ?? 5);
/** Connections opened at once while building up a level. */
const OPEN_BATCH = 250;
/** A change not seen by every subscriber within this time fails the scenario. */
const DELIVERY_TIMEOUT_MS = 30_000;

const SUBSCRIPTION = `subscription { customerStatusChanged { cursor kind occurredAt kyc { from to } customer { id externalId kycStatus updatedAt } } }`;
const TRANSITION = `mutation Move($id: ID!, $to: KycStatus!) { transitionKyc(id: $id, to: $to) { __typename ... on Error { code message } } }`;

interface Subscriber {
  dispose: () => void;
}

export const fanoutScenario: Scenario = async (ctx) => {
  console.log(`\n# 4. subscription fan-out: ${LEVELS.join(' / ')} graphql-ws subscribers, ${CHANGES} status changes each`);
  const wsUrl = `${ctx.gateway.url.replace('http', 'ws')}/graphql`;
  const customerId = await createCustomer(ctx);
  // KYC moves that can repeat forever: IN_PROGRESS ↔ AWAITING_RESUBMISSION.
  await move(ctx, customerId, 'PENDING');
  await move(ctx, customerId, 'IN_PROGRESS');
  let next: 'AWAITING_RESUBMISSION' | 'IN_PROGRESS' = 'AWAITING_RESUBMISSION';

  const subscribers: Subscriber[] = [];
  /** Arrival listeners of the change being measured: count and time of each arrival. */
  let onArrival: ((at: number) => void) | undefined;
  let errors = 0;
  const before = await ctx.gateway.stats();
  try {
    for (const level of LEVELS) {
      while (subscribers.length < level) {
        const batch = Math.min(OPEN_BATCH, level - subscribers.length);
        subscribers.push(
          ...(await Promise.all(
            Array.from({ length: batch }, () =>
              openSubscriber(
                wsUrl,
                ctx.db.key,
                () => onArrival?.(performance.now()),
                () => errors++,
              ),
            ),
          )),
        );
      }
      // Connected is not yet subscribed: wait until the bus has every subscription.
      const registered = performance.now();
      while ((await ctx.gateway.stats()).subscribers < level) {
        if (performance.now() - registered > DELIVERY_TIMEOUT_MS)
          throw new Error(`only ${(await ctx.gateway.stats()).subscribers} of ${level} subscriptions registered`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // A first change proves every subscription is live (and warms the path); then the measured ones.
      const latencies: number[] = [];
      const lastArrivals: number[] = [];
      // CPU time per measured change (the mutation, the bus fetch and the fan-out; and the load
      // generator's receiving): less sensitive to a busy machine than the latency.
      let gatewayCpu = 0;
      let clientCpu = 0;
      for (let i = 0; i <= CHANGES; i++) {
        const arrivals: number[] = [];
        const all = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`change reached ${arrivals.length} of ${level} subscribers in ${DELIVERY_TIMEOUT_MS} ms`)),
            DELIVERY_TIMEOUT_MS,
          );
          onArrival = (at) => {
            arrivals.push(at);
            if (arrivals.length === level) {
              clearTimeout(timer);
              resolve();
            }
          };
        });
        const cpu0 = await ctx.gateway.cpuMicros();
        const client0 = process.cpuUsage();
        const sent = performance.now();
        await move(ctx, customerId, next);
        next = next === 'IN_PROGRESS' ? 'AWAITING_RESUBMISSION' : 'IN_PROGRESS';
        await all;
        onArrival = undefined;
        const client1 = process.cpuUsage(client0);
        const cpu1 = await ctx.gateway.cpuMicros();
        if (i === 0) continue;
        gatewayCpu += cpu1 - cpu0;
        clientCpu += client1.user + client1.system;
        for (const at of arrivals) latencies.push(at - sent);
        lastArrivals.push(Math.max(...arrivals) - sent);
        // Let the gateway settle between changes so each one is measured on its own.
        await new Promise((r) => setTimeout(r, 200));
      }
      latencies.sort((a, b) => a - b);
      const p99 = percentile(latencies, 99);
      const stats = await ctx.gateway.stats();
      const heapPer = (stats.heapUsed - before.heapUsed) / level;
      const rssPer = (stats.rss - before.rss) / level;
      record({
        scenario: '4 fan-out',
        subject: `${num(level)} subscribers, mutation sent → arrival`,
        figure: `p50 ${ms(percentile(latencies, 50))}, p99 ${ms(p99)}`,
        target: 'p99 < 250 ms',
        met: p99 < 250,
        note: `last subscriber ${ms(Math.max(...lastArrivals))} at worst; ${errors} subscriber errors`,
      });
      record({
        scenario: '4 fan-out',
        subject: `${num(level)} subscribers, CPU per change`,
        figure: `gateway ${ms(gatewayCpu / CHANGES / 1000)} (${num(gatewayCpu / CHANGES / level, 1)} µs per subscriber)`,
        note: `load generator ${ms(clientCpu / CHANGES / 1000)} receiving them; process CPU time (user + system) from before the mutation to the last arrival`,
      });
      record({
        scenario: '4 fan-out',
        subject: `${num(level)} subscribers, gateway memory per subscriber`,
        figure: `heap ${num(heapPer / 1024, 1)} KB, RSS ${num(rssPer / 1024, 1)} KB`,
        target: '< 30 KB',
        met: Math.max(heapPer, rssPer) < 30 * 1024,
      });
    }
  } finally {
    for (const s of subscribers) s.dispose();
  }
};

async function createCustomer(ctx: BenchContext): Promise<string> {
  const res = await fetch(`${ctx.gateway.url}/api/v1/customers`, {
    method: 'POST',
    headers: ctx.headers,
    body: JSON.stringify(upsertBody(`fanout-${process.pid}`)),
  });
  const body = (await res.json()) as { id?: string };
  if (!body.id) throw new Error(`fan-out setup: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

async function move(ctx: BenchContext, id: string, to: string): Promise<void> {
  const res = await fetch(`${ctx.gateway.url}/graphql`, {
    method: 'POST',
    headers: ctx.headers,
    body: JSON.stringify({ query: TRANSITION, variables: { id, to } }),
  });
  const body = (await res.json()) as { data?: { transitionKyc: { __typename: string } }; errors?: unknown };
  if (body.data?.transitionKyc.__typename !== 'TransitionKycSuccess') throw new Error(`transitionKyc to ${to}: ${JSON.stringify(body)}`);
}

/**
 * Opens one connection with one subscription; resolves once the connection is acknowledged.
 * A minimal graphql-transport-ws client on `ws` rather than graphql-ws's client: the load
 * generator shares the machine's cores with the gateway, and graphql-ws's client (message
 * validation, listeners, lazy/retry machinery) cost about as much CPU per message as the
 * gateway's whole fan-out, which ended up in the measured latency. Every message is still
 * parsed and checked: a `next` with errors, an `error` or a `complete` counts as an error.
 */
function openSubscriber(url: string, key: string, onChange: () => void, onError: () => void): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    let acked = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    socket.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as { type: string; payload?: { errors?: unknown } };
      if (msg.type === 'next') {
        if (msg.payload?.errors) onError();
        else onChange();
      } else if (msg.type === 'connection_ack') {
        acked = true;
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
        resolve({ dispose: () => socket.close(1000) });
      } else if (msg.type === 'ping') socket.send('{"type":"pong"}');
      else if (msg.type === 'error' || msg.type === 'complete') onError();
    });
    socket.on('close', (code, reason) => {
      if (!acked) reject(new Error(`subscriber closed before connecting: ${code} ${String(reason)}`));
    });
    socket.on('error', (error) => {
      if (!acked) reject(error);
    });
  });
}
