// Real graphql-ws clients and an SSE reader for subscription tests, with deferred waits
// (never sleeps). Everything opened here is disposed by `closeAll`, even when a test fails.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { deferred, type Deferred } from './deferred.js';

export type Result = { data?: any; errors?: any[] };

/** One subscription's received messages, with waits on their count and on its end. */
export class Received {
  readonly results: Result[] = [];
  readonly ended = deferred<{ error?: unknown }>();
  private waiters: { n: number; d: Deferred<void> }[] = [];

  push(r: Result): void {
    this.results.push(r);
    this.waiters = this.waiters.filter((w) => (this.results.length >= w.n ? (w.d.resolve(), false) : true));
  }

  /** The changes received (data.customerStatusChanged of each message without errors). */
  get changes(): any[] {
    return this.results.filter((r) => r.data?.customerStatusChanged).map((r) => r.data!.customerStatusChanged);
  }

  /** Resolves once `n` messages arrived; fails if the stream ends first. */
  waitFor(n: number): Promise<void> {
    if (this.results.length >= n) return Promise.resolve();
    const d = deferred();
    this.waiters.push({ n, d });
    void this.ended.promise.then(() =>
      d.reject(new Error(`stream ended after ${this.results.length} of ${n} messages: ${JSON.stringify(this.results.at(-1))}`)),
    );
    return d.promise;
  }
}

export const STATUS_SUBSCRIPTION = /* GraphQL */ `
  subscription S($filter: CustomerStatusChangeFilter, $after: String) {
    customerStatusChanged(filter: $filter, after: $after) {
      cursor
      kind
      occurredAt
      customer {
        id
        externalId
        kycStatus
        aml {
          status
        }
      }
      kyc {
        from
        to
      }
      aml {
        from
        to
      }
    }
  }
`;

export class Clients {
  private readonly disposers: (() => unknown)[] = [];

  /** A graphql-ws client authenticated in connection_init; `onSocket` sees the raw socket. */
  ws(baseUrl: string, key: string | null, onSocket?: (s: WebSocket) => void): Client {
    const client = createClient({
      url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          onSocket?.(this);
        }
      },
      connectionParams: key ? { authorization: `Bearer ${key}` } : {},
      retryAttempts: 0,
      lazy: true,
    });
    this.disposers.push(() => client.dispose());
    return client;
  }

  /** Subscribes and collects every message until the stream ends. */
  subscribe(client: Client, variables: Record<string, unknown> = {}, query = STATUS_SUBSCRIPTION): Received {
    const rec = new Received();
    const stop = client.subscribe<any>(
      { query, variables },
      {
        next: (r) => rec.push(r as Result),
        error: (error) => rec.ended.resolve({ error }),
        complete: () => rec.ended.resolve({}),
      },
    );
    this.disposers.push(stop);
    return rec;
  }

  /** Subscribes over Server-Sent Events (Accept: text/event-stream). */
  sse(baseUrl: string, key: string, variables: Record<string, unknown> = {}, query = STATUS_SUBSCRIPTION): Received {
    const rec = new Received();
    const abort = new AbortController();
    this.disposers.push(() => abort.abort());
    void (async () => {
      try {
        const res = await fetch(`${baseUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query, variables }),
          signal: abort.signal,
        });
        const decoder = new TextDecoder();
        let buffer = '';
        if (!res.body) throw new Error(`SSE request answered ${res.status} without a body`);
        // Node's fetch body is async iterable (tsc accepts it); the TypeScript 5 behind the lint types it without.
        // eslint-disable-next-line @typescript-eslint/await-thenable
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk, { stream: true });
          let at: number;
          while ((at = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            const event = /^event: (.*)$/m.exec(frame)?.[1];
            const data = frame
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trim())
              .join('\n');
            if (event === 'complete') return rec.ended.resolve({});
            if (data) rec.push(JSON.parse(data) as Result);
          }
        }
        rec.ended.resolve({});
      } catch (error) {
        rec.ended.resolve({ error });
      }
    })();
    return rec;
  }

  async closeAll(): Promise<void> {
    for (const d of this.disposers.splice(0).reverse()) await Promise.resolve(d()).catch(() => {});
  }
}

/** Resolves once the instance's bus has at least `n` subscribers registered. */
export function subscribersAtLeast(
  bus: { subscriberCount: number; monitor: import('node:events').EventEmitter<any> },
  n: number,
): Promise<void> {
  if (bus.subscriberCount >= n) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (count: number) => {
      if (count < n) return;
      bus.monitor.off('subscribed', on);
      resolve();
    };
    bus.monitor.on('subscribed', on);
  });
}

/** Resolves once the instance's bus has at most `n` subscribers (after disconnects). */
export function subscribersAtMost(
  bus: { subscriberCount: number; monitor: import('node:events').EventEmitter<any> },
  n: number,
): Promise<void> {
  if (bus.subscriberCount <= n) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (count: number) => {
      if (count > n) return;
      bus.monitor.off('unsubscribed', on);
      resolve();
    };
    bus.monitor.on('unsubscribed', on);
  });
}
