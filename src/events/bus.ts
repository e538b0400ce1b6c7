// One event bus per gateway instance: it LISTENs on the events channel and, on each wake-up
// (NOTIFY, or a fallback poll), reads in ONE query the KYC/AML events that committed between
// its previous snapshot and a fresh one (PgQ's snapshot technique), for every organisation,
// and fans them out in memory to the matching subscribers. The events table is the source of
// truth: NOTIFY only wakes the bus, so a lost notification costs latency, never an event.
import { EventEmitter } from 'node:events';
import type { Database } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { AmlStatus, KycStatus } from '../generated/prisma/enums.js';
import type { Logger } from '../ops/logger.js';
import type { PublicCustomer } from '../projection/customer.js';
import type { Actor } from './actor.js';
import { ACTOR_SELECT, toHistoryEvent, type EventColumns } from './history.js';
import { eventsUnseenBy } from './log-reads.js';
import { EVENTS_CHANNEL } from './outbox.js';
import { retentionCutoff } from './retention.js';
import { decodeEventCursor, encodeEventCursor, isAfterCursor, parseSnapshot, type EventCursor, type PgSnapshot } from './snapshot.js';

export type StatusChangeKind = 'KYC' | 'AML';
export const STATUS_CHANGE_KINDS: readonly StatusChangeKind[] = ['KYC', 'AML'];

/** One KYC or AML status change as delivered to subscribers; `snapshot` is the customer after it. */
export interface StatusChange {
  id: bigint;
  txid: bigint;
  orgId: string;
  customerId: string;
  kind: StatusChangeKind;
  kycFrom: KycStatus | null;
  kycTo: KycStatus | null;
  amlFrom: AmlStatus | null;
  amlTo: AmlStatus | null;
  snapshot: PublicCustomer;
  occurredAt: Date;
  /** Who made the change (SPEC section 11). */
  actor: Actor;
  cursor: string;
}

/** Subscription filter. Customer ids and external ids select customers (either matches); kinds narrow. */
export interface StatusChangeFilter {
  customerIds?: readonly string[] | undefined;
  externalIds?: readonly string[] | undefined;
  kinds?: readonly StatusChangeKind[] | undefined;
}

/** A change as handed to the transport; a live one is ONE object shared by every subscriber it reaches. */
export type ChangeDelivery = { readonly type: 'change'; readonly change: StatusChange };
export type Delivery = ChangeDelivery | { type: 'overflow'; lastCursor: string | null };

/** The cursor names a position older than the event retention: events may be missing. */
export class CursorExpiredError extends Error {
  constructor(readonly retentionDays: number) {
    super(`The cursor is older than the event retention (${retentionDays} days); resubscribe without "after" and reload state.`);
    this.name = 'CursorExpiredError';
  }
}

export interface EventBusOptions {
  /** Undelivered events a subscriber may hold before it is cut off. */
  bufferSize: number;
  /** Event retention in days; null keeps every event, so no cursor can expire. */
  retentionDays: number | null;
  /** Fallback poll, for lost notifications (and a lost LISTEN connection). */
  pollMs?: number;
  now: () => Date;
  log: Logger;
}

/** What `monitor` emits: subscriber counts and cut-offs, for metrics and tests. */
export interface BusMonitorEvents {
  subscribed: [count: number];
  unsubscribed: [count: number];
  overflow: [orgId: string];
  batch: [size: number];
  /** A live change was handed to a subscriber (replays after a cursor are not reported): commit-to-delivery latency. */
  delivered: [occurredAt: Date];
}

const DEFAULT_POLL_MS = 1000;
const REPLAY_PAGE = 500;

interface EventRow extends EventColumns {
  snap: string;
  txid: bigint;
  org_id: string;
  kind: StatusChangeKind;
  snapshot: PublicCustomer;
}

const toChange = (r: EventRow, cursor: string): StatusChange => ({
  ...toHistoryEvent(r),
  kind: r.kind,
  txid: BigInt(r.txid),
  orgId: r.org_id,
  snapshot: typeof r.snapshot === 'string' ? (JSON.parse(r.snapshot) as PublicCustomer) : r.snapshot,
  cursor,
});

const visible = (snapshot: string) => Prisma.sql`pg_visible_in_snapshot(e.txid::text::xid8, ${snapshot}::text::pg_snapshot)`;

/**
 * The bus's one statement per wake-up (exported for the test of its plan): the status events
 * committed in (prev, now], for every organisation, with the snapshot they end at. Read as
 * log-reads.ts says, never from prev's xmin (which a long transaction anywhere in the cluster
 * holds back): the bus runs it at every commit's wake-up.
 */
export function busFetchStatement(prev: PgSnapshot): Prisma.Sql {
  return Prisma.sql`
    WITH s AS (SELECT pg_current_snapshot() AS snap)
    SELECT s.snap::text AS snap, e.id, e.txid, e.org_id::text AS org_id, e.customer_id::text AS customer_id,
           e.kind::text AS kind, e.kyc_from::text AS kyc_from, e.kyc_to::text AS kyc_to,
           e.aml_from::text AS aml_from, e.aml_to::text AS aml_to, e.snapshot, e.occurred_at, ${ACTOR_SELECT}
    FROM s LEFT JOIN ${eventsUnseenBy(prev, Prisma.sql`(SELECT pg_snapshot_xmax(snap)::text::bigint FROM s)`)} e
      ON e.kind IN ('KYC', 'AML')
     AND pg_visible_in_snapshot(e.txid::text::xid8, s.snap)
    ORDER BY e.id`;
}

/**
 * A page of a resumed subscription's replay (exported for the test of its plan): the events of
 * `orgId` after `cursor` and visible in `until`, after the position `after`, in (batch, id)
 * order; group 0 is the rest of the cursor's own batch, group 1 what committed after it.
 */
export function replayPageStatement(
  orgId: string,
  f: NormalisedFilter,
  cursor: EventCursor,
  until: PgSnapshot,
  after: { group: number; id: bigint },
): Prisma.Sql {
  const C = cursor.next.text;
  const kinds = f.kinds ? [...f.kinds] : [...STATUS_CHANGE_KINDS];
  const who =
    f.customerIds || f.externalIds
      ? Prisma.sql`AND (e.customer_id::text = ANY(${[...(f.customerIds ?? [])]}::text[]) OR e.snapshot->>'externalId' = ANY(${[...(f.externalIds ?? [])]}::text[]))`
      : Prisma.empty;
  return Prisma.sql`
    SELECT * FROM (
      SELECT CASE WHEN ${visible(C)} THEN 0 ELSE 1 END AS grp, ''::text AS snap, e.id, e.txid,
             e.org_id::text AS org_id, e.customer_id::text AS customer_id, e.kind::text AS kind,
             e.kyc_from::text AS kyc_from, e.kyc_to::text AS kyc_to, e.aml_from::text AS aml_from,
             e.aml_to::text AS aml_to, e.snapshot, e.occurred_at, ${ACTOR_SELECT}
      FROM ${eventsUnseenBy(cursor.prev, Prisma.sql`${until.xmax.toString()}::bigint`)} e
      WHERE e.org_id = ${orgId}::uuid
        AND e.kind::text = ANY(${kinds}::text[]) ${who}
        AND (NOT ${visible(C)} OR e.id > ${cursor.id}::bigint)
        AND ${visible(until.text)}
    ) r
    WHERE (r.grp, r.id) > (${after.group}::int, ${after.id}::bigint)
    ORDER BY r.grp, r.id
    LIMIT ${REPLAY_PAGE}`;
}

export class EventBus {
  readonly monitor = new EventEmitter<BusMonitorEvents>();
  private head: PgSnapshot | null = null;
  private starting: Promise<void> | null = null;
  private readonly byOrg = new Map<string, Set<BusSubscriber>>();
  private count = 0;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private poll: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private unwatch: (() => void) | undefined;
  private closed = false;

  private readonly hooks: SubscriberHooks;

  constructor(
    private readonly db: Database,
    private readonly options: EventBusOptions,
  ) {
    this.hooks = {
      limit: options.bufferSize,
      finished: (s) => this.remove(s),
      overflowed: (s) => this.monitor.emit('overflow', s.orgId),
      delivered: (c) => this.monitor.emit('delivered', c.occurredAt),
    };
  }

  get subscriberCount(): number {
    return this.count;
  }

  /** Starts listening and takes the first snapshot; idempotent (started by the first subscriber). */
  start(): Promise<void> {
    this.starting ??= (async () => {
      // The NOTIFYs sent while the LISTEN connection was down are lost: catch up from the head
      // as soon as it is back, so live delivery resumes at NOTIFY latency with nothing missed.
      this.unwatch = this.db.onListenerStatus((status) => {
        if (status.state === 'connected') void this.wake();
      });
      this.unlisten = await this.db.listen(EVENTS_CHANNEL, () => void this.wake());
      const rows = await this.db.prisma.$queryRaw<{ snap: string }[]>`SELECT pg_current_snapshot()::text AS snap`;
      this.head = parseSnapshot(rows[0]!.snap);
      this.poll = setInterval(() => void this.wake(), this.options.pollMs ?? DEFAULT_POLL_MS);
      this.poll.unref();
    })();
    // A failed start (database unreachable) is retried by the next subscriber.
    this.starting.catch(async () => {
      this.starting = null;
      this.unwatch?.();
      this.unwatch = undefined;
      await this.unlisten?.().catch(() => {});
      this.unlisten = undefined;
    });
    return this.starting;
  }

  /**
   * Runs a fetch that starts after this call (joining one already queued); resolves when it
   * is done. Fetches never overlap: each one advances the snapshot the next one starts from.
   */
  wake(): Promise<void> {
    if (this.closed || !this.head) return Promise.resolve();
    if (this.queued) return this.queued;
    const run = this.chain.then(() => {
      this.queued = null;
      return this.fetch();
    });
    this.queued = run;
    this.chain = run.catch(() => {});
    return run;
  }

  /** One query for every organisation: the events committed in (head, S_new]. */
  private async fetch(): Promise<void> {
    const prev = this.head;
    if (this.closed || !prev) return;
    let rows: EventRow[];
    try {
      rows = await this.db.prisma.$queryRaw<EventRow[]>(busFetchStatement(prev));
    } catch (error) {
      // The next wake-up (at the latest the poll) retries from the same snapshot: no loss.
      this.options.log.warn({ error: String((error as Error)?.message ?? error) }, 'event bus fetch failed');
      return;
    }
    const next = rows[0]!.snap;
    this.head = parseSnapshot(next);
    const changes = rows
      .filter((r) => r.id !== null)
      .map((r) => toChange(r, encodeEventCursor(prev.text, next, BigInt(r.id!), new Date(r.occurred_at))));
    if (changes.length === 0) return;
    this.monitor.emit('batch', changes.length);
    for (const change of changes) {
      const subs = this.byOrg.get(change.orgId);
      if (!subs) continue;
      // One delivery object for all: the GraphQL layer executes and serialises it once per
      // group of identical subscriptions, keyed by this object (graphql/shared-subscriptions.ts).
      const delivery: ChangeDelivery = { type: 'change', change };
      for (const sub of subs) sub.offer(delivery);
    }
  }

  /**
   * Subscribes to an organisation's status changes. Without `after`: live from now. With
   * `after`: registers first (buffering live batches), replays from the table the events
   * after the cursor that committed before registration, then continues live; live events
   * are filtered by the cursor too, so nothing is delivered twice even if the cursor came
   * from an instance that is ahead of this one.
   */
  async subscribe(orgId: string, filter: StatusChangeFilter, after?: string | null): Promise<BusSubscriber> {
    const cursor = after ? decodeEventCursor(after) : null;
    const cutoff = retentionCutoff(this.options.retentionDays, this.options.now());
    if (cursor && cutoff && cursor.at < cutoff.getTime()) throw new CursorExpiredError(this.options.retentionDays ?? 0);
    if (this.closed) throw new Error('the event bus is closed');
    const initiated = !this.starting;
    await this.start();
    // "Live from now": catch the head up with everything committed before this call, so
    // that a change committed earlier but not yet fetched is not handed out as new. (A
    // first start already took its snapshot after this call; a resume needs no catch-up.)
    if (!cursor && !initiated) await this.wake();
    const sub = new BusSubscriber(orgId, normaliseFilter(filter), cursor, this.hooks);
    // Registration and reading the head happen in one synchronous step: every batch after
    // `registeredAt` reaches the subscriber live, everything before it comes from the replay.
    const registeredAt = this.head!;
    let set = this.byOrg.get(orgId);
    if (!set) this.byOrg.set(orgId, (set = new Set()));
    set.add(sub);
    this.count++;
    this.monitor.emit('subscribed', this.count);
    if (cursor) sub.replayFrom(this.replay(orgId, sub.filter, cursor, registeredAt));
    return sub;
  }

  /** Pages through the events after `cursor` that are visible in `until`, in (batch, id) order. */
  private async *replay(orgId: string, f: NormalisedFilter, cursor: EventCursor, until: PgSnapshot): AsyncGenerator<StatusChange> {
    const P = cursor.prev.text;
    const C = cursor.next.text;
    // Group 0: the rest of the cursor's own batch; group 1: committed after it, before `until`.
    let group = 0;
    let lastId = cursor.id;
    for (;;) {
      const rows = await this.db.prisma.$queryRaw<(EventRow & { grp: number })[]>(
        replayPageStatement(orgId, f, cursor, until, { group, id: lastId }),
      );
      for (const r of rows) {
        group = Number(r.grp);
        lastId = BigInt(r.id!);
        const [p, c] = group === 0 ? [P, C] : [C, until.text];
        yield toChange(r, encodeEventCursor(p, c, lastId, new Date(r.occurred_at)));
      }
      if (rows.length < REPLAY_PAGE) return;
    }
  }

  private remove(sub: BusSubscriber): void {
    const set = this.byOrg.get(sub.orgId);
    if (!set?.delete(sub)) return;
    if (set.size === 0) this.byOrg.delete(sub.orgId);
    this.count--;
    this.monitor.emit('unsubscribed', this.count);
  }

  /** Stops listening and polling; every open subscription completes. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    await this.starting?.catch(() => {});
    this.unwatch?.();
    await this.unlisten?.().catch(() => {});
    for (const set of [...this.byOrg.values()]) for (const sub of [...set]) await sub.return();
    await this.chain;
  }
}

export interface NormalisedFilter {
  customerIds: ReadonlySet<string> | null;
  externalIds: ReadonlySet<string> | null;
  kinds: ReadonlySet<StatusChangeKind> | null;
}

// An empty list filters nothing, like an absent one.
export function normaliseFilter(f: StatusChangeFilter): NormalisedFilter {
  const set = <T>(xs: readonly T[] | undefined, map: (x: T) => T = (x) => x) => (xs && xs.length ? new Set(xs.map(map)) : null);
  return { customerIds: set(f.customerIds, (s) => s.toLowerCase()), externalIds: set(f.externalIds), kinds: set(f.kinds) };
}

/** What every subscriber of a bus reports to it (one object per bus, not closures per subscriber). */
interface SubscriberHooks {
  limit: number;
  finished(s: BusSubscriber): void;
  overflowed(s: BusSubscriber): void;
  delivered(c: StatusChange): void;
}

/**
 * One subscription: a bounded queue fed by the bus and drained by the transport. A manual
 * iterator rather than an async generator so that `return()` (client unsubscribed) takes
 * effect at once even while the consumer is waiting for the next event.
 *
 * Push mode (`attach`), the fan-out's fast path: while the consumer waits in next() (so
 * nothing it pulled is still on its way) and its previous push is written (`resume()`), a
 * live change goes straight to the sink, synchronously, with no promise per change; otherwise
 * it is queued and pulled (or pushed on resume) as before. Replays, the SUBSCRIBER_TOO_SLOW
 * notice and the end of the stream always go through next(). The buffer bound is the same in
 * both modes: a sink that does not resume (a socket that does not drain) fills the queue.
 */
export class BusSubscriber implements AsyncIterableIterator<Delivery> {
  private readonly queue: ChangeDelivery[] = [];
  private waiter: ((r: IteratorResult<Delivery>) => void) | null = null;
  private replay: AsyncGenerator<StatusChange> | null = null;
  private overflowed = false;
  private finished = false;
  private lastCursor: string | null = null;
  private sink: ((d: ChangeDelivery) => void) | null = null;
  /** True when a push may start: the sink's previous one has resumed. */
  private sinkReady = false;

  constructor(
    readonly orgId: string,
    readonly filter: NormalisedFilter,
    private readonly after: EventCursor | null,
    private readonly hooks: SubscriberHooks,
  ) {}

  /** Switches to push mode (see above); the sink calls resume() after each change it took. */
  attach(sink: (d: ChangeDelivery) => void): void {
    this.sink = sink;
    this.sinkReady = true;
  }

  /** The sink wrote its last change: push the next queued one, or wait for the next offer. */
  resume(): void {
    if (this.finished) return;
    if (this.overflowed) {
      // The cut-off waited for the push in flight, so that the notice follows it on the wire.
      this.settleOverflow();
      return;
    }
    const d = this.waiter && !this.replay ? this.queue.shift() : undefined;
    if (d) this.push(d);
    else this.sinkReady = true;
  }

  private push(d: ChangeDelivery): void {
    this.sinkReady = false;
    this.lastCursor = d.change.cursor;
    this.hooks.delivered(d.change);
    this.sink?.(d);
  }

  /** Hands the SUBSCRIBER_TOO_SLOW notice to a consumer waiting in next(). */
  private settleOverflow(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = null;
    w(this.overflowResult());
  }

  replayFrom(replay: AsyncGenerator<StatusChange>): void {
    this.replay = replay;
  }

  private matches(c: StatusChange): boolean {
    const f = this.filter;
    if (f.kinds && !f.kinds.has(c.kind)) return false;
    if (f.customerIds || f.externalIds) {
      const ext = c.snapshot.externalId;
      if (!f.customerIds?.has(c.customerId) && !(ext !== null && f.externalIds?.has(ext))) return false;
    }
    return !this.after || isAfterCursor(c, this.after);
  }

  /** Called by the bus for each change of this organisation, in batch order. */
  offer(d: ChangeDelivery): void {
    if (this.finished || this.overflowed || !this.matches(d.change)) return;
    if (this.waiter && !this.replay) {
      if (this.sink) {
        if (this.sinkReady && this.queue.length === 0) return this.push(d);
      } else {
        const w = this.waiter;
        this.waiter = null;
        this.lastCursor = d.change.cursor;
        this.hooks.delivered(d.change);
        w({ value: d, done: false });
        return;
      }
    }
    if (this.queue.length >= this.hooks.limit) {
      // Bounded memory: drop the buffer and leave the bus; the consumer gets the error next
      // (a push-mode consumer waiting in next() gets it now, or once its push in flight is written).
      this.overflowed = true;
      this.queue.length = 0;
      this.hooks.finished(this);
      this.hooks.overflowed(this);
      if (this.sink && this.sinkReady) this.settleOverflow();
      return;
    }
    this.queue.push(d);
  }

  async next(): Promise<IteratorResult<Delivery>> {
    if (this.finished) return { value: undefined, done: true };
    if (this.overflowed) return this.overflowResult();
    if (this.replay) {
      const r = await this.replay.next();
      if (this.finished) return { value: undefined, done: true };
      if (this.overflowed) return this.overflowResult();
      if (!r.done) {
        this.lastCursor = r.value.cursor;
        return { value: { type: 'change', change: r.value }, done: false };
      }
      this.replay = null;
    }
    const d = this.queue.shift();
    if (d) {
      this.lastCursor = d.change.cursor;
      this.hooks.delivered(d.change);
      return { value: d, done: false };
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private overflowResult(): IteratorResult<Delivery> {
    const value: Delivery = { type: 'overflow', lastCursor: this.lastCursor };
    this.finish();
    return { value, done: false };
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.length = 0;
    this.sink = null;
    void this.replay?.return(undefined);
    this.hooks.finished(this);
    const w = this.waiter;
    this.waiter = null;
    w?.({ value: undefined, done: true });
  }

  // async without await: the AsyncIterator protocol answers with promises, and `async` makes a throw a rejection.
  // eslint-disable-next-line @typescript-eslint/require-await
  async return(): Promise<IteratorResult<Delivery>> {
    this.finish();
    return { value: undefined, done: true };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- as return() above
  async throw(error?: unknown): Promise<IteratorResult<Delivery>> {
    this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Delivery> {
    return this;
  }
}
