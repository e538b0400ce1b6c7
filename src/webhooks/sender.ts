// The webhook sender of one gateway instance: the second consumer of the customer event log,
// next to the subscription bus (docs/events.md, "The webhook sender").
//
// - Fan-out: woken by the same NOTIFY as the bus (or a fallback poll), at most every 100 ms,
//   it runs queue.fanOut, which turns the events committed since a cursor shared by every
//   instance into deliveries, in the statement that advances the cursor. The log is the source
//   of truth: a rolled-back change has no event, hence no webhook; a committed one has an
//   event, hence deliveries (even if this process dies right after the commit: the next
//   fan-out of any instance finds it).
// - Delivery: up to `concurrency` endpoints at a time, each leased to this instance with a
//   batch of its oldest due deliveries (queue.claimBatches), sent in queue (commit) order,
//   several at once pipelined on the endpoint's connection (transport.ts), and recorded
//   together with the claim of the endpoint's next batch (queue.recordBatch), so a busy
//   endpoint costs one statement per batch. The claim and the record are planned at each run
//   (`db.statements`), not prepared like the fan-out: their best plan depends on how many
//   deliveries the table holds, which changes faster than its statistics, and a generic plan made
//   while the table was small scans all of it once it has grown (measured: the record took 6 ms
//   a call that way, against 1.2 ms to run and 0.8 ms to plan). A failure pauses the endpoint
//   for its backoff (a dead endpoint costs a few attempts per backoff period, not one per queued
//   event) and schedules the delivery's retry, until its 24 hours are over. A slow endpoint
//   holds one slot for at most the lease; other endpoints use the others.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Database } from '../db/client.js';
import { EVENTS_CHANNEL } from '../events/outbox.js';
import type { Logger } from '../ops/logger.js';
import { nextAttempt, retryDelay } from './backoff.js';
import { buildPayload } from './event-types.js';
import {
  claimBatches,
  DELIVERIES_CHANNEL,
  fanOut,
  notifiedEndpoints,
  oldestPendingAt,
  recordBatch,
  type Batch,
  type BatchItem,
  type Failed,
  type Sent,
} from './queue.js';
import { SecretUnavailableError, type SecretBox } from './secret-box.js';
import { signatureHeaders, signingKey } from './signing.js';
import type { AttemptOutcome, AttemptOutcomeKind, WebhookTransport } from './transport.js';

/** An attempt's outcome, or why nothing could be sent (`final`: never will be). */
type Outcome = AttemptOutcome | { kind: 'skipped'; error: string; final: boolean };

/** Outcomes of attempts as the monitor reports them (`skipped`: nothing could be sent, e.g. no readable secret). */
export type AttemptMonitorOutcome = AttemptOutcomeKind | 'skipped';

/** What `monitor` emits, for metrics (webhook attempts by outcome) and tests. */
export interface SenderMonitorEvents {
  /** An attempt ended. */
  attempt: [outcome: AttemptMonitorOutcome, endpointId: string, durationMs: number];
  /** Deliveries queued by this instance's fan-out. */
  queued: [count: number];
  /** A delivery ran out of retries (or of event). */
  failed: [endpointId: string];
  /** The results of `attempts` attempts to an endpoint were stored (tests wait on it). */
  recorded: [endpointId: string, attempts: number];
  /** The sender's thread died and is being started again (sender-thread.ts; never inline). */
  restarted: [exitCode: number];
}

/**
 * What the rest of an instance sees of its sender, whether it runs inline (WebhookSender) or in a
 * thread of its own (sender-thread.ts): metrics and tests listen to `monitor`, tests `wake()` it.
 */
export interface SenderHandle {
  readonly monitor: EventEmitter<SenderMonitorEvents>;
  /** Starts it; returns at once (it keeps retrying on its own while the database is away). */
  start(): void;
  /** A fan-out and a claim round now; resolves when both are done (not the attempts they start). */
  wake(): Promise<void>;
  /** When the oldest waiting delivery was queued (for the metric of that name); null when none waits. */
  oldestPendingAt(): Promise<Date | null>;
  /** Stops it; the attempts in flight finish and are recorded first (bounded by the timeout). */
  close(): Promise<void>;
}

export interface SenderOptions {
  /** Endpoints sent to at the same time by this instance. */
  concurrency: number;
  /** A 2xx within this is success (SPEC: 10 s). */
  timeoutMs: number;
  /** Fallback poll: lost notifications, and retries coming due. */
  pollMs?: number;
  /** Batches sent to one endpoint in a row before its slot goes back to the pool (fairness). */
  chainLimit?: number;
  /** Shortest time between the starts of two fan-outs of this instance (0: back to back). */
  fanOutIntervalMs?: number;
  /** Deliveries leased with an endpoint at a time (sent in order, pipelined, recorded together). */
  batchSize?: number;
  now: () => Date;
  random?: () => number;
  log: Logger;
}

const DEFAULT_POLL_MS = 1000;
/**
 * A fan-out starts at most this often. Under a stream of writes every commit NOTIFYs; without a
 * pause each fan-out would carry one or two events, and the statements that follow (the
 * claim, one record per batch) would too. Waiting this long lets the events of the interval
 * travel together, which is what keeps the sender's cost on the write path low; it adds at
 * most this much to the first attempt's latency (SPEC: within 1 s of the commit).
 */
const DEFAULT_FAN_OUT_INTERVAL_MS = 100;
const DEFAULT_CHAIN_LIMIT = 10;
/**
 * Deliveries leased with an endpoint at a time. With 20, one endpoint receiving every creation
 * at ~850 upserts/s got 40 % of them by the end of each bench round (a batch waits for its
 * record statement, which queues behind the requests for a pool connection); 100 keeps up. A
 * crash mid-batch sends at most the batch again (at-least-once). 200, with fan-outs every 200 ms,
 * measured no cheaper.
 */
const DEFAULT_BATCH_SIZE = 100;
/** A lease outlives an attempt by this margin, so that only a dead instance loses one. */
const LEASE_MARGIN_MS = 20_000;
/** No attempt starts unless it can end (timeout) this long before the lease does. */
const LEASE_SAFETY_MS = 5_000;

export class WebhookSender implements SenderHandle {
  readonly monitor = new EventEmitter<SenderMonitorEvents>();
  /** Identifies this instance's leases (never a secret). */
  readonly instanceId = `${hostname().slice(0, 32)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly active = new Set<Promise<void>>();
  /** Endpoints this instance's chains are sending to. */
  private readonly sending = new Set<string>();
  private fanOutChain: Promise<void> = Promise.resolve();
  private fanOutQueued: Promise<void> | null = null;
  private lastFanOutAt = 0;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private poll: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>)[] = [];
  private listening = false;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly transport: WebhookTransport,
    private readonly options: SenderOptions,
  ) {}

  private get leaseMs(): number {
    return this.options.timeoutMs + LEASE_MARGIN_MS;
  }

  /**
   * Starts polling and listening, and catches up at once (deliveries left by a previous run).
   * Never fails: while the database is unreachable the poll keeps retrying, LISTEN included.
   */
  start(): void {
    this.poll = setInterval(() => void this.wake(), this.options.pollMs ?? DEFAULT_POLL_MS);
    this.poll.unref();
    void this.wake();
  }

  private async listen(): Promise<void> {
    if (this.listening || this.closed) return;
    this.listening = true;
    try {
      // A change only needs a fan-out; the fan-out's own NOTIFY (when it queued something)
      // wakes the claim of every instance, this one included.
      this.unlisten.push(await this.db.listen(EVENTS_CHANNEL, () => void this.fanOutNow()));
      this.unlisten.push(await this.db.listen(DELIVERIES_CHANNEL, (payload) => this.onQueued(payload)));
    } catch (error) {
      this.listening = false;
      for (const u of this.unlisten.splice(0)) await u().catch(() => {});
      this.options.log.warn({ error: errorText(error) }, 'webhook sender cannot listen yet');
    }
  }

  /**
   * Runs a fan-out, then a claim round (the poll: lost notifications, retries coming due);
   * resolves when both are done (not the attempts they start).
   */
  async wake(): Promise<void> {
    await this.listen();
    await this.fanOutNow();
    await this.pump();
  }

  /** Fan-outs never overlap on one instance, and wake-ups that arrive during one share the next. */
  private fanOutNow(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.fanOutQueued) return this.fanOutQueued;
    const run = this.fanOutChain.then(async () => {
      // Wake-ups that arrive while this waits share it.
      const wait = this.lastFanOutAt + (this.options.fanOutIntervalMs ?? DEFAULT_FAN_OUT_INTERVAL_MS) - performance.now();
      if (wait > 0 && !this.closed) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastFanOutAt = performance.now();
      this.fanOutQueued = null;
      if (this.closed) return;
      try {
        const r = await fanOut(this.db.preparedStatements, this.options.now());
        if (r.queued > 0) this.monitor.emit('queued', r.queued);
      } catch (error) {
        // The cursor did not move: the next wake-up (at the latest the poll) retries.
        this.options.log.warn({ error: errorText(error) }, 'webhook fan-out failed');
      }
    });
    this.fanOutQueued = run;
    this.fanOutChain = run;
    return run;
  }

  /**
   * Deliveries were queued (a fan-out's or the replay tool's NOTIFY). When they are all for
   * endpoints this instance is sending to, its chains take them with their next batch (the
   * record claims it), and a claim now would find nothing: under a stream of writes to one
   * endpoint that was a wasted statement per fan-out. A chain that ends before seeing them pumps
   * as its slot is freed (run()), so none is left waiting for the poll.
   */
  private onQueued(payload: string): void {
    const endpoints = notifiedEndpoints(payload);
    if (endpoints !== null && endpoints.length > 0 && endpoints.every((id) => this.sending.has(id))) return;
    void this.pump();
  }

  /** Claims jobs for the free slots; a call during a claim makes that claim run once more. */
  pump(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.pumpAgain = false;
          const free = this.options.concurrency - this.active.size;
          if (free <= 0) break;
          const now = this.options.now();
          let batches: Batch[];
          try {
            const leaseUntil = new Date(now.getTime() + this.leaseMs);
            batches = await claimBatches(this.db.statements, this.instanceId, now, leaseUntil, free, this.batchSize);
          } catch (error) {
            this.options.log.warn({ error: errorText(error) }, 'webhook claim failed');
            break;
          }
          for (const batch of batches) this.run(batch);
        } while (this.pumpAgain && !this.closed);
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  private get batchSize(): number {
    return this.options.batchSize ?? DEFAULT_BATCH_SIZE;
  }

  /** One slot: sends a batch, then the endpoint's next batches while it answers 2xx. */
  private run(first: Batch): void {
    this.sending.add(first.endpointId);
    const slot = (async () => {
      try {
        await this.chain(first);
      } catch (error) {
        // Not recorded: the lease runs out and the deliveries are attempted again (at least once).
        this.options.log.error({ endpointId: first.endpointId, error: errorText(error) }, 'webhook slot failed');
      }
    })();
    this.active.add(slot);
    void slot.finally(() => {
      this.active.delete(slot);
      this.sending.delete(first.endpointId);
      if (!this.closed) void this.pump();
    });
  }

  /** Sends `first`, then the endpoint's next due batches under the renewed lease while they succeed. */
  private async chain(first: Batch): Promise<void> {
    let batch: Batch | null = first;
    let rounds = 0;
    while (batch) {
      const current: Batch = batch;
      const { sent, failed } = await this.send(current);
      rounds += 1;
      const now = this.options.now();
      const more = failed.length === 0 && !this.closed && rounds < (this.options.chainLimit ?? DEFAULT_CHAIN_LIMIT);
      const next = more ? { leaseUntil: new Date(now.getTime() + this.leaseMs), size: this.batchSize } : null;
      batch = await recordBatch(this.db.statements, this.instanceId, current, sent, failed, now, next);
      this.monitor.emit('recorded', current.endpointId, sent.length + failed.length);
    }
  }

  /**
   * Sends a batch's items in order, up to the transport's pipelining depth in flight at once
   * (on the endpoint's one connection, so they reach it in this order), and reads the outcomes
   * in the same order. The first failure stops the dispatch: the items behind it that were
   * already sent are awaited and recorded too (each attempt made is counted), the rest wait for
   * the endpoint's backoff.
   */
  private async send(batch: Batch): Promise<{ sent: Sent[]; failed: Failed[] }> {
    const sent: Sent[] = [];
    const failed: Failed[] = [];
    let secrets: KeyObject[] | Error;
    try {
      secrets = batch.secrets.map((s) => signingKey(this.box.open(s.secret, s.id)));
      if (secrets.length === 0) throw new SecretUnavailableError('the endpoint has no signing secret');
    } catch (error) {
      if (!(error instanceof SecretUnavailableError)) throw error;
      this.options.log.error({ endpointId: batch.endpointId, error: error.message }, 'webhook not signed: secret unavailable');
      secrets = error;
    }
    const window: { item: BatchItem; startedAt: Date; t0: number; outcome: Promise<Outcome> }[] = [];
    const settleHead = async () => {
      const head = window.shift()!;
      const outcome = await head.outcome;
      this.monitor.emit('attempt', outcome.kind, batch.endpointId, performance.now() - head.t0);
      if (outcome.kind === 'delivered')
        sent.push({ deliveryId: head.item.deliveryId, startedAt: head.startedAt, statusCode: outcome.status });
      else failed.push(this.failure(batch, head.item, outcome, head.startedAt));
    };
    // No attempt outlives the lease, not even one pipelined behind slow ones (they are timed from
    // their predecessor's answer): the lease's end, less the safety margin, in real time.
    const deadline = performance.now() + (batch.leaseUntil.getTime() - this.options.now().getTime() - LEASE_SAFETY_MS);
    for (const item of batch.items) {
      if (failed.length > 0) break;
      // Never start an attempt that could outlive the lease; the rest stays queued.
      const startedAt = this.options.now();
      if (startedAt.getTime() + this.options.timeoutMs > batch.leaseUntil.getTime() - LEASE_SAFETY_MS) break;
      if (this.closed && sent.length + window.length > 0) break;
      const outcome = this.attempt(batch, item, secrets, startedAt, { after: window.at(-1)?.outcome, deadline });
      // Awaited in order below; if an earlier one throws, this one's failure must not go unhandled.
      outcome.catch(() => {});
      window.push({ item, startedAt, t0: performance.now(), outcome });
      if (window.length >= this.transport.depth(batch.endpointId)) await settleHead();
    }
    while (window.length > 0) await settleHead();
    return { sent, failed };
  }

  /** Builds, signs and sends one attempt. */
  private async attempt(
    batch: Batch,
    item: BatchItem,
    secrets: KeyObject[] | Error,
    now: Date,
    timing: { after: Promise<unknown> | undefined; deadline: number },
  ): Promise<Outcome> {
    if (!item.event) return { kind: 'skipped', error: 'the event is no longer in the event log (EVENT_RETENTION_DAYS)', final: true };
    if (secrets instanceof Error) return { kind: 'skipped', error: `not sent: ${secrets.message}`, final: false };
    const payload = buildPayload(item.event, item.type);
    const body = JSON.stringify(payload);
    const headers = signatureHeaders(secrets, payload.id, Math.floor(now.getTime() / 1000), body);
    return this.transport.attempt({
      endpointId: batch.endpointId,
      url: batch.url,
      body,
      headers,
      timeoutMs: this.options.timeoutMs,
      deadline: timing.deadline,
      ...(timing.after ? { after: timing.after } : {}),
    });
  }

  /** A failed attempt: its retry (backoff with jitter, until the deadline) and the endpoint's pause. */
  private failure(batch: Batch, item: BatchItem, outcome: Exclude<Outcome, { kind: 'delivered' }>, startedAt: Date): Failed {
    const end = this.options.now();
    const failures = Math.max(item.attempts + 1, batch.endpointFailures + 1);
    const delay = retryDelay(failures, this.options.random);
    const retryAt = outcome.kind === 'skipped' && outcome.final ? null : nextAttempt(delay, end, item.deadline);
    if (retryAt === null) this.monitor.emit('failed', batch.endpointId);
    this.options.log.info(
      {
        endpointId: batch.endpointId,
        deliveryId: item.deliveryId.toString(),
        attempt: item.attempts + 1,
        outcome: outcome.kind,
        retryAt: retryAt?.toISOString() ?? null,
      },
      'webhook attempt failed',
    );
    return {
      deliveryId: item.deliveryId,
      startedAt,
      statusCode: outcome.kind === 'http_error' ? outcome.status : null,
      error: outcome.error,
      retryAt,
      // The endpoint rests as long as the delivery (no longer: the last retry is at the deadline).
      pauseUntil: retryAt ?? new Date(end.getTime() + delay),
    };
  }

  /** When the oldest waiting delivery was queued (for the metric of that name); null when none waits. */
  oldestPendingAt(): Promise<Date | null> {
    return oldestPendingAt(this.db.statements);
  }

  /** Stops listening and polling and lets the attempts in flight finish (bounded by the timeout). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    for (const u of this.unlisten.splice(0)) await u().catch(() => {});
    await this.pumping;
    await Promise.allSettled([...this.active]);
    await this.fanOutChain;
    this.transport.close();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
