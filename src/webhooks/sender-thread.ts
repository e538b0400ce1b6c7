// The webhook sender in a thread of its own (WEBHOOK_SENDER_THREAD, on by default with
// PostgreSQL). The gateway is one JavaScript thread, and under load that thread is what limits
// throughput (issue 12): every microsecond the sender spends on it (building and signing
// payloads, HTTP to receivers, reading its batches' rows) is taken from requests. Measured on
// 2 cores: an endpoint receiving every creation cost upserts 11–14 % of their throughput with
// the sender inline, and about 8 % from its own thread (0.88–0.95×, mean 0.92× over eleven runs),
// which uses the core the API thread leaves partly idle (bench/README.md, sixth pass). It also keeps a burst of webhooks (a backlog after a receiver's outage) from adding
// latency to API requests.
//
// The thread is the same WebhookSender as inline (sender-worker.ts builds it), with its own
// small pool and its own LISTEN connection: everything it shares with the API goes through
// PostgreSQL already (the fan-out cursor, the leases), exactly as between two instances. This
// side only starts it, forwards its monitor events (metrics; batched, so the API thread handles
// a message per MONITOR_FLUSH_MS, not per attempt), and restarts it when it dies: its leases then
// run out and its deliveries go to whoever takes the endpoints next, as after a crashed instance.
// The embedded database (PGlite) lives in the API thread, so there the sender always runs inline.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Database } from '../db/client.js';
import type { Config } from '../config.js';
import { errorMessage, type Logger } from '../ops/logger.js';
import { oldestPendingAt } from './queue.js';
import type { SenderHandle, SenderMonitorEvents } from './sender.js';
import type { WebhookConfig } from './index.js';

/** Connections of the sender thread's own pool (its LISTEN connection aside): one fan-out, claims and records of up to WEBHOOK_CONCURRENCY endpoints, each a statement of a few ms. */
export const SENDER_THREAD_POOL_SIZE = 4;
/** The thread sends its monitor events at most this often, together. */
export const MONITOR_FLUSH_MS = 20;
/** First wait before a dead thread is started again; doubled at each death in a row, up to RESTART_MAX_MS. */
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** A thread that ran this long resets the restart wait. */
const RESTART_RESET_AFTER_MS = 60_000;

/** One monitor event as it crosses threads: its name, then its arguments. */
export type MonitorRecord = { [K in keyof SenderMonitorEvents]: [K, ...SenderMonitorEvents[K]] }[keyof SenderMonitorEvents];

/** What the thread starts from (workerData). */
export interface SenderThreadData {
  config: WebhookConfig & Pick<Config, 'logLevel'>;
  postgres: { url: string; connectTimeoutMs: number };
}

export type ToThread = { type: 'wake'; id: number } | { type: 'close' };
export type FromThread = { type: 'started' } | { type: 'events'; events: MonitorRecord[] } | { type: 'woken'; id: number };

/** Re-emits a forwarded monitor event on `monitor`. */
export function emitRecord(monitor: EventEmitter<SenderMonitorEvents>, record: MonitorRecord): void {
  switch (record[0]) {
    case 'attempt':
      monitor.emit('attempt', record[1], record[2], record[3]);
      break;
    case 'queued':
      monitor.emit('queued', record[1]);
      break;
    case 'failed':
      monitor.emit('failed', record[1]);
      break;
    case 'recorded':
      monitor.emit('recorded', record[1], record[2]);
      break;
    case 'restarted':
      monitor.emit('restarted', record[1]);
      break;
  }
}

/**
 * How to start the thread: the compiled entry next to this file, or, running from the
 * TypeScript sources (tests, benchmarks, `npm run dev`), a bootstrap that registers tsx in the
 * thread first (Node 20 does not carry a parent's `--import` loader hooks into a worker).
 */
function workerSource(): { entry: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { entry: new URL('./sender-worker.js', import.meta.url), eval: false };
  // tsx's ESM API (its CommonJS build cannot find its hooks from an eval'd thread).
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href;
  const entry = new URL('./sender-worker.ts', import.meta.url).href;
  return {
    entry: `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`,
    eval: true,
  };
}

export class ThreadedSender implements SenderHandle {
  readonly monitor = new EventEmitter<SenderMonitorEvents>();
  private worker: Worker | null = null;
  private startedAt = 0;
  private restartDelay = RESTART_MIN_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | null = null;
  private nextWake = 0;
  private readonly wakes = new Map<number, () => void>();
  private exited: (() => void) | null = null;

  constructor(
    private readonly data: SenderThreadData,
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  /** The thread running now (null before the start, while it is started again, and after close). */
  get thread(): Worker | null {
    return this.worker;
  }

  start(): void {
    if (this.closing || this.worker) return;
    const source = workerSource();
    const worker = new Worker(source.entry, { eval: source.eval, workerData: this.data, name: 'webhook-sender' });
    this.worker = worker;
    this.startedAt = Date.now();
    worker.on('message', (msg: FromThread) => this.onMessage(msg));
    worker.on('error', (error) => this.log.error({ error: errorMessage(error) }, 'webhook sender thread failed'));
    worker.on('exit', (code) => this.onExit(worker, code));
  }

  private onMessage(msg: FromThread): void {
    switch (msg.type) {
      case 'started':
        this.log.info({ poolSize: SENDER_THREAD_POOL_SIZE }, 'webhook sender running in its own thread');
        break;
      case 'events':
        for (const record of msg.events) emitRecord(this.monitor, record);
        break;
      case 'woken':
        this.wakes.get(msg.id)?.();
        this.wakes.delete(msg.id);
        break;
    }
  }

  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const done of this.wakes.values()) done();
    this.wakes.clear();
    if (this.closing) {
      this.exited?.();
      return;
    }
    // Its leases run out and another sender (this one, restarted) takes its endpoints over.
    if (Date.now() - this.startedAt >= RESTART_RESET_AFTER_MS) this.restartDelay = RESTART_MIN_MS;
    this.log.error({ exitCode: code, restartInMs: this.restartDelay }, 'webhook sender thread stopped; starting it again');
    this.monitor.emit('restarted', code);
    this.restartTimer = setTimeout(() => this.start(), this.restartDelay);
    this.restartTimer.unref();
    this.restartDelay = Math.min(this.restartDelay * 2, RESTART_MAX_MS);
  }

  wake(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    const id = ++this.nextWake;
    return new Promise((resolve) => {
      this.wakes.set(id, resolve);
      worker.postMessage({ type: 'wake', id } satisfies ToThread);
    });
  }

  /** Read on this thread's connections: it is a metric of the instance, not of the thread. */
  oldestPendingAt(): Promise<Date | null> {
    return oldestPendingAt(this.db.statements);
  }

  /** Asks the thread to stop as the inline sender does (attempts in flight finish and are recorded), and waits for it. */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => (this.exited = resolve));
    worker.postMessage({ type: 'close' } satisfies ToThread);
    await exited;
  }
}
