// The dedicated PostgreSQL connection that carries every LISTEN of one process, kept alive:
// when it errors or ends (server restart, pg_terminate_backend, network cut) it is replaced
// with exponential backoff and full jitter, every channel is LISTENed again, and the status
// observers hear `connected` only once that is done. NOTIFY is not queued for a session that is
// gone, so the notifications sent while it was down are lost: an observer that cares (the event
// bus) catches up from its own cursor on `connected`.
import pg from 'pg';

/** `idle`: nothing listened yet (or every channel released); otherwise whether the LISTENs are in place. */
export type ListenerState = 'idle' | 'connected' | 'disconnected';

/** What a readiness check reads: the state, since when, and why it is down. */
export interface ListenerStatus {
  state: ListenerState;
  /** When `state` last changed. */
  since: Date;
  /** The error that took the connection down (or made the last attempt fail); null while connected. */
  lastError: string | null;
  /** Connections made after the first one (a counter for logs and tests). */
  reconnects: number;
}

export type ListenerObserver = (status: ListenerStatus) => void;

/** First retry after this long, then doubling up to the cap; each delay is drawn uniformly below it. */
export const LISTENER_RETRY_BASE_MS = 100;
export const LISTENER_RETRY_MAX_MS = 2_000;

export interface PgListenerOptions {
  connectionString: string;
  /** Bound on one connection attempt (the same as the pool's). */
  connectTimeoutMs: number;
  /** How the connection names itself in pg_stat_activity. */
  applicationName?: string;
}

/** One process's LISTEN connection to PostgreSQL, re-established whenever it is lost. */
export class PgListener {
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly observers = new Set<ListenerObserver>();
  private client: pg.Client | null = null;
  /** The attempt in flight, joined by every caller that needs the connection now. */
  private connecting: Promise<pg.Client> | null = null;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private connections = 0;
  private closed = false;
  private current: ListenerStatus = { state: 'idle', since: new Date(), lastError: null, reconnects: 0 };

  constructor(private readonly options: PgListenerOptions) {}

  status(): ListenerStatus {
    return { ...this.current };
  }

  /** Adds an observer of status changes; returns its remover. */
  observe(observer: ListenerObserver): () => void {
    this.observers.add(observer);
    return () => void this.observers.delete(observer);
  }

  /**
   * Calls `onNotify` for each NOTIFY on `channel`. Resolves once the LISTEN is in place; when
   * the connection cannot be made now it rejects and registers nothing (the caller retries).
   * Resolves to the remover.
   */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('the database is closed');
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(onNotify);
    try {
      const client = this.client ?? (await this.connect());
      // LISTEN is idempotent; a connection opened just now may have read the channels before this one.
      if (fresh) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      this.release(channel, onNotify);
      throw error;
    }
    return async () => {
      if (!this.release(channel, onNotify)) return;
      await this.client?.query(`UNLISTEN ${this.client.escapeIdentifier(channel)}`).catch(() => {});
    };
  }

  /** Ends the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    const client = this.client ?? (await this.connecting?.catch(() => null));
    this.client = null;
    await client?.end().catch(() => {});
  }

  /** Removes a handler; true when its channel has no handler left. */
  private release(channel: string, onNotify: (payload: string) => void): boolean {
    const set = this.handlers.get(channel);
    if (!set?.delete(onNotify) || set.size > 0) return false;
    this.handlers.delete(channel);
    if (this.handlers.size === 0 && !this.client && !this.connecting) {
      this.cancelRetry();
      this.setStatus('idle', null);
    }
    return true;
  }

  /** Joins the attempt in flight or starts one now (cancelling a scheduled retry). */
  private connect(): Promise<pg.Client> {
    this.cancelRetry();
    if (!this.connecting) {
      const attempt = this.open();
      this.connecting = attempt;
      // Registered before any caller's await, so these run first: `connecting` is clear when callers resume.
      attempt.then(
        () => (this.connecting = null),
        () => {
          this.connecting = null;
          this.scheduleReconnect();
        },
      );
    }
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      keepAlive: true,
      ...(this.options.applicationName ? { application_name: this.options.applicationName } : {}),
    });
    // Never an unhandled 'error' event (it would crash the process); a loss schedules a reconnect.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the LISTEN connection ended')));
    client.on('notification', (n) => {
      for (const h of this.handlers.get(n.channel) ?? []) h(n.payload ?? '');
    });
    try {
      await client.connect();
      // Every channel in one round trip, read after connecting so a channel added meanwhile is included.
      const channels = [...this.handlers.keys()];
      if (channels.length > 0) await client.query(channels.map((c) => `LISTEN ${client.escapeIdentifier(c)};`).join(' '));
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      this.failures++;
      this.setStatus(this.current.state === 'idle' ? 'idle' : 'disconnected', error);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      throw new Error('the database is closed');
    }
    this.client = client;
    this.failures = 0;
    this.connections++;
    this.setStatus('connected', null);
    return client;
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('notification');
    void client.end().catch(() => {});
    if (this.closed) return;
    this.setStatus('disconnected', error);
    this.scheduleReconnect();
  }

  /** Exponential backoff with full jitter, while some channel still wants the connection. */
  private scheduleReconnect(): void {
    if (this.closed || this.retry || this.connecting || this.current.state === 'idle') return;
    if (this.handlers.size === 0) return this.setStatus('idle', null);
    const cap = Math.min(LISTENER_RETRY_MAX_MS, LISTENER_RETRY_BASE_MS * 2 ** this.failures);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      // A failed attempt schedules the next one itself.
      this.connect().catch(() => {});
    }, Math.random() * cap);
    this.retry.unref();
  }

  private cancelRetry(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  private setStatus(state: ListenerState, error: unknown): void {
    const lastError =
      // A thrown non-Error (a driver's string or object) has no message: its String() is all there is.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      error === null ? null : error instanceof Error ? error.message : String(error);
    if (state === this.current.state && lastError === this.current.lastError) return;
    const since = state === this.current.state ? this.current.since : new Date();
    this.current = { state, since, lastError, reconnects: Math.max(0, this.connections - 1) };
    for (const o of [...this.observers]) o(this.status());
  }
}
