// Prometheus metrics of one gateway instance (SPEC section 12), in a registry of its own (tests
// start several instances in one process). The front door reports requests, GraphQL errors,
// idempotent replays and rate-limit refusals; the domain's monitors (event bus, webhook
// sender) and the database (pool, LISTEN connection) are read here, so the domain never imports
// prom-client. Labels carry surfaces, route templates, bounded operation names, statuses and
// codes: never a key, an e-mail, a name or any other customer data.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import type { SenderHandle } from '../webhooks/sender.js';

/** Where a request came in. `http`: the gateway's own pages (health, metrics, GraphiQL assets, unknown paths). */
export const Surface = { GraphQL: 'graphql', Rest: 'rest', WebSocket: 'websocket', Http: 'http' } as const;
export type Surface = (typeof Surface)[keyof typeof Surface];

/** How a request ended, whatever its status: a GraphQL answer with a masked error is a server error even at HTTP 200. */
export const Outcome = { Ok: 'ok', ClientError: 'client_error', ServerError: 'server_error' } as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export const IdempotencyResult = { Replayed: 'replayed', Conflict: 'conflict', InProgress: 'in_progress' } as const;
export type IdempotencyResult = (typeof IdempotencyResult)[keyof typeof IdempotencyResult];

/** One finished request (an HTTP request, or one graphql-ws operation). */
export interface RequestObservation {
  surface: Surface;
  /** Route template (`GET /api/v1/customers/{id}`) or bounded GraphQL operation name. */
  operation: string;
  /** HTTP status; for a WebSocket operation, the status the same outcome answers over HTTP. */
  status: number;
  outcome: Outcome;
  durationSeconds: number;
  /** A subscription (SSE or graphql-ws): counted, but its lifetime is not a request duration. */
  stream: boolean;
}

/** Request durations: from 5 ms (a cached read) to 10 s (the webhook timeout, the slowest thing we wait on). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Commit → subscriber: NOTIFY latency is tens of ms; the fallback poll is 1 s. */
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** The oldest pending webhook delivery is read from the database at most this often (a scrape every second costs nothing more). */
const OLDEST_PENDING_CACHE_MS = 5_000;

/** The metrics of one instance; `watch` hooks up the database and the domain's monitors. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'surface' | 'operation' | 'status' | 'outcome'>;
  private readonly durations: Histogram<'surface' | 'operation' | 'outcome'>;
  private readonly graphqlErrors: Counter<'surface' | 'code'>;
  private readonly idempotency: Counter<'surface' | 'result'>;
  private readonly rateLimited: Counter<'surface'>;
  private readonly detachers: (() => void)[] = [];

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'gateway_requests_total',
      help: 'Requests by surface, operation (route template or GraphQL operation name), HTTP status and outcome; one per graphql-ws operation.',
      labelNames: ['surface', 'operation', 'status', 'outcome'],
      registers,
    });
    this.durations = new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time from the first byte of a request (or a graphql-ws subscribe message) to the end of its answer; subscriptions are left out.',
      labelNames: ['surface', 'operation', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.graphqlErrors = new Counter({
      name: 'gateway_graphql_errors_total',
      help: 'GraphQL errors sent to clients, by extensions.code.',
      labelNames: ['surface', 'code'],
      registers,
    });
    this.idempotency = new Counter({
      name: 'gateway_idempotency_total',
      help: 'Writes with an idempotency key that did not run: replayed (the stored answer), conflict (another request used the key), in_progress (still held after the wait).',
      labelNames: ['surface', 'result'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused by the per-key rate limit (429 / RATE_LIMITED).',
      labelNames: ['surface'],
      registers,
    });
  }

  /** Counts a finished request and, unless it is a stream, its duration. */
  request(o: RequestObservation): void {
    this.requests.inc({ surface: o.surface, operation: o.operation, status: String(o.status), outcome: o.outcome });
    if (!o.stream) this.durations.observe({ surface: o.surface, operation: o.operation, outcome: o.outcome }, o.durationSeconds);
  }

  /** Counts the codes of the GraphQL errors of one answer. */
  graphqlError(surface: Surface, code: string): void {
    this.graphqlErrors.inc({ surface, code });
  }

  idempotentWrite(surface: Surface, result: IdempotencyResult): void {
    this.idempotency.inc({ surface, result });
  }

  rateLimit(surface: Surface): void {
    this.rateLimited.inc({ surface });
  }

  /** Reads the database, the event bus and the webhook sender of an instance; the returned function detaches. */
  watch(parts: { db: Database; bus: EventBus; sender: SenderHandle | null }): () => void {
    const registers = [this.registry];
    const { db, bus, sender } = parts;

    new Gauge({
      name: 'gateway_db_pool_connections',
      help: 'Database connections of this instance by state (PostgreSQL pool: idle, busy; max is the configured size; PGlite: one in-process connection).',
      labelNames: ['state'],
      registers,
      collect() {
        const s = db.poolStats();
        this.set({ state: 'max' }, s.max);
        if (s.total === null || s.idle === null) return;
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'busy' }, s.total - s.idle);
      },
    });
    new Gauge({
      name: 'gateway_db_pool_waiting',
      help: 'Queries waiting for a free pooled connection right now (PostgreSQL; always 0 on PGlite, which queues inside the engine).',
      registers,
      collect() {
        this.set(db.poolStats().waiting ?? 0);
      },
    });
    new Gauge({
      name: 'gateway_db_listener_connected',
      help: '1 while the LISTEN connection (live subscriptions and webhooks) is connected or not yet needed, 0 while it is being re-established.',
      registers,
      collect() {
        this.set(db.listenerStatus().state === 'disconnected' ? 0 : 1);
      },
    });

    new Gauge({
      name: 'gateway_subscriptions',
      help: 'Live status-change subscriptions on this instance (graphql-ws and SSE).',
      registers,
      collect() {
        this.set(bus.subscriberCount);
      },
    });
    const cutOff = new Counter({
      name: 'gateway_subscribers_cut_off_total',
      help: 'Subscribers disconnected because their buffer filled up (SUBSCRIBER_TOO_SLOW).',
      registers,
    });
    const delivery = new Histogram({
      name: 'gateway_status_change_delivery_seconds',
      help: "Commit-to-delivery latency of live status changes: the event's occurred_at (database clock) to its hand-over to a subscriber (replays after a cursor are left out).",
      buckets: DELIVERY_BUCKETS,
      registers,
    });
    const onOverflow = () => cutOff.inc();
    const onDelivered = (occurredAt: Date) => delivery.observe(Math.max(0, Date.now() - occurredAt.getTime()) / 1000);
    bus.monitor.on('overflow', onOverflow);
    bus.monitor.on('delivered', onDelivered);
    this.detachers.push(() => {
      bus.monitor.off('overflow', onOverflow);
      bus.monitor.off('delivered', onDelivered);
    });

    if (sender) {
      const attempts = new Counter({
        name: 'gateway_webhook_attempts_total',
        help: 'Webhook delivery attempts made by this instance, by outcome (delivered, http_error, timeout, network_error, refused, skipped).',
        labelNames: ['outcome'],
        registers,
      });
      const attemptDuration = new Histogram({
        name: 'gateway_webhook_attempt_duration_seconds',
        help: 'Duration of webhook attempts, by outcome.',
        labelNames: ['outcome'],
        buckets: DURATION_BUCKETS,
        registers,
      });
      let oldest: { at: number; value: number } | null = null;
      new Gauge({
        name: 'gateway_webhook_oldest_pending_seconds',
        help: 'Age of the oldest webhook delivery still waiting to be delivered, across all endpoints (0 when none waits); read at most every 5 s.',
        registers,
        async collect() {
          if (!oldest || Date.now() - oldest.at >= OLDEST_PENDING_CACHE_MS) {
            // A scrape while the database is down reports the last value rather than failing the whole page.
            const since = await sender.oldestPendingAt().catch(() => undefined);
            if (since !== undefined) oldest = { at: Date.now(), value: since ? Math.max(0, Date.now() - since.getTime()) / 1000 : 0 };
          }
          if (oldest) this.set(oldest.value);
        },
      });
      // One labelled child per outcome, looked up once: every webhook attempt lands here, and
      // prom-client hashes the label object on each call otherwise.
      const byOutcome = new Map<string, { count: Counter.Internal; duration: Histogram.Internal<string> }>();
      const onAttempt = (outcome: string, _endpointId: string, durationMs: number) => {
        let child = byOutcome.get(outcome);
        if (!child) {
          child = { count: attempts.labels({ outcome }), duration: attemptDuration.labels({ outcome }) };
          byOutcome.set(outcome, child);
        }
        child.count.inc();
        child.duration.observe(durationMs / 1000);
      };
      const restarts = new Counter({
        name: 'gateway_webhook_sender_restarts_total',
        help: "Times this instance's webhook sender thread died and was started again (stays 0 when the sender runs inline).",
        registers,
      });
      const onRestart = () => restarts.inc();
      sender.monitor.on('attempt', onAttempt);
      sender.monitor.on('restarted', onRestart);
      this.detachers.push(() => {
        sender.monitor.off('attempt', onAttempt);
        sender.monitor.off('restarted', onRestart);
      });
    }
    return () => this.close();
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops listening to the monitors. */
  close(): void {
    for (const d of this.detachers.splice(0)) d();
  }
}
