// The live feed: customerStatusChanged over graphql-ws on this origin's /graphql, the key in
// the connection_init payload (never in the URL).
//
// It survives network drops. The graphql-ws client does not retry by itself here
// (retryAttempts 0): on any loss this class waits (exponential backoff, full jitter; or the
// browser's `online` event when it reports no network) and subscribes again with the cursor of
// the last change it handed out, which the gateway replays from with no gap and no duplicate.
// The cursor is kept in sessionStorage, so a reload resumes too. A socket that stops answering
// without closing is noticed by a ping that gets no pong.
import { CloseCode, createClient, type Client, type FormattedExecutionResult } from 'graphql-ws/client';
import { ErrorCodes } from './api.js';
import { backoffDelay } from './backoff.js';
import { STATUS_CHANGES } from './operations.js';
import type { StatusChange } from './types.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** Ping the gateway after this long without a pong. */
const PING_INTERVAL_MS = 10_000;
/** A ping unanswered for this long means the connection is dead. */
const PONG_TIMEOUT_MS = 5_000;

export interface LiveFeedOptions {
  key: string;
  /** The cursor to resume after, and where to keep each new one. */
  cursor: { get(): string | null; set(cursor: string | null): void };
  onChange(change: StatusChange): void;
  /** Connection state changes; `attempt` counts reconnection attempts since the last success. */
  onState(state: ConnectionState, attempt: number): void;
  /** Something the user should know that does not stop the feed. */
  onNotice(message: string): void;
  /** The feed stopped for good: the key was refused. */
  onFatal(code: string, message: string): void;
}

interface GraphQLErrorLike {
  message: string;
  extensions?: { code?: string };
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'number' && 'reason' in value;
}

export class LiveFeed {
  private readonly client: Client;
  private unsubscribe: (() => void) | null = null;
  private attempt = 0;
  private stopped = false;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | null = null;
  private readonly onOffline = () => {
    // No network: the socket is as good as gone; close it now rather than wait for the ping.
    this.client.terminate();
  };
  private readonly onOnline = () => this.wake?.();

  constructor(private readonly options: LiveFeedOptions) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.client = createClient({
      url: `${scheme}://${location.host}/graphql`,
      connectionParams: () => ({ authorization: `Bearer ${options.key}` }),
      lazy: true,
      retryAttempts: 0,
      keepAlive: PING_INTERVAL_MS,
      on: {
        connected: () => {
          this.attempt = 0;
          this.options.onState('connected', 0);
        },
        ping: (received) => {
          if (received) return;
          clearTimeout(this.pongTimer);
          this.pongTimer = setTimeout(() => this.client.terminate(), PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(this.pongTimer);
        },
        closed: () => clearTimeout(this.pongTimer),
      },
    });
  }

  /** Connects and subscribes, resuming after the stored cursor when there is one. */
  start(): void {
    addEventListener('offline', this.onOffline);
    addEventListener('online', this.onOnline);
    this.subscribe();
  }

  /** Closes the feed (sign-out). */
  stop(): void {
    this.stopped = true;
    removeEventListener('offline', this.onOffline);
    removeEventListener('online', this.onOnline);
    clearTimeout(this.pongTimer);
    this.wake?.();
    this.unsubscribe?.();
    void this.client.dispose();
  }

  private subscribe(): void {
    if (this.stopped) return;
    this.options.onState(this.attempt === 0 ? 'connecting' : 'reconnecting', this.attempt);
    let ended = false;
    const end = (error: unknown) => {
      if (ended) return;
      ended = true;
      this.unsubscribe?.();
      this.unsubscribe = null;
      void this.recover(error);
    };
    const after = this.options.cursor.get();
    this.unsubscribe = this.client.subscribe<{ customerStatusChanged: StatusChange }>(
      { query: STATUS_CHANGES, variables: { after } },
      {
        next: (result: FormattedExecutionResult<{ customerStatusChanged: StatusChange }>) => {
          if (ended) return;
          if (result.errors?.length) return end(result.errors);
          const change = result.data?.customerStatusChanged;
          if (!change) return;
          // The cursor first: whatever the page does with the change, it is never asked for again.
          this.options.cursor.set(change.cursor);
          this.options.onChange(change);
        },
        error: (error: unknown) => end(error),
        // The gateway ends a stream only when it goes away: resume like after a drop.
        complete: () => end(null),
      },
    );
  }

  private async recover(error: unknown): Promise<void> {
    if (this.stopped) return;
    if (isCloseEvent(error) && (error.code === CloseCode.Unauthorized || error.code === CloseCode.Forbidden)) {
      this.stopped = true;
      return this.options.onFatal(ErrorCodes.Unauthenticated, 'The gateway refused the API key (revoked or expired?).');
    }
    if (Array.isArray(error)) {
      const first = error[0] as GraphQLErrorLike | undefined;
      const code = first?.extensions?.code ?? '';
      if (code === ErrorCodes.Unauthenticated || code === ErrorCodes.Forbidden) {
        this.stopped = true;
        return this.options.onFatal(code, first?.message ?? 'The live feed was refused.');
      }
      if (code === ErrorCodes.CursorExpired) {
        // What the gateway no longer keeps cannot be replayed: continue live from now.
        this.options.cursor.set(null);
        this.options.onNotice('Some changes made while this page was away are older than the gateway keeps; the feed continues from now.');
      }
    }
    this.attempt += 1;
    await this.pause(backoffDelay(this.attempt));
    this.subscribe();
  }

  /** Waits `ms`, or while the browser reports no network, until it is back (or stop()). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const offline = !navigator.onLine;
      this.options.onState(offline ? 'offline' : 'reconnecting', this.attempt);
      const timer = offline ? undefined : setTimeout(done, ms);
      this.wake = done;
    });
  }
}
