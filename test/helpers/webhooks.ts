// Webhook receivers for tests: real HTTP servers on 127.0.0.1 port 0 (never anything outside
// loopback), scripted per request, with deferred waits on what they received.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { onTestFinished } from 'vitest';
import type { WebhookEventType } from '../../src/webhooks/event-types.js';
import type { Services } from '../../src/services.js';
import { deferred, type Deferred } from './deferred.js';

/** The environment of a gateway whose sender delivers to test receivers on loopback over http. */
export const SENDER_ENV = {
  WEBHOOK_CONCURRENCY: '8',
  WEBHOOK_ALLOW_INSECURE: 'true',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
} as const;

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: any;
  at: number;
  /** Which of the receiver's connections it came on (1-based, in the order they were accepted). */
  connection: number;
}

type Answer = number | 'hang' | { status: number; headers?: Record<string, string> };
/** What the receiver does with the n-th request (0-based): answer a status (now or later), or hang. */
export type Behaviour = (n: number, req: IncomingMessage) => Answer | Promise<Answer>;

export class Receiver {
  readonly received: Received[] = [];
  connections = 0;
  private waiters: { n: number; d: Deferred<void> }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly connectionNumbers = new WeakMap<Socket, number>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(behaviour: Behaviour = () => 200, host = '127.0.0.1'): Promise<Receiver> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = receiver;
        const n = r.received.length;
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {
          /* kept as text */
        }
        r.received.push({
          path: req.url ?? '',
          headers,
          body,
          json,
          at: performance.now(),
          connection: r.connectionNumbers.get(req.socket) ?? 0,
        });
        void Promise.resolve(behaviour(n, req)).then((answer) => {
          if (answer === 'hang') return;
          const { status, headers: extra } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
          res.writeHead(status, { 'content-type': 'text/plain', ...extra });
          res.end(status >= 300 ? `answer ${status}` : 'ok');
        });
        r.notify();
      });
    });
    server.on('connection', (s: Socket) => {
      receiver.connections += 1;
      receiver.connectionNumbers.set(s, receiver.connections);
      receiver.sockets.add(s);
      s.on('close', () => receiver.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    // Declared after the server it holds; the handlers above run only once it is listening.
    const receiver = new Receiver(server, (server.address() as AddressInfo).port);
    onTestFinished(() => receiver.close());
    return receiver;
  }

  url(path = '/hook', host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => (this.received.length >= w.n ? (w.d.resolve(), false) : true));
  }

  /** Resolves once `n` requests arrived. */
  waitFor(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    const d = deferred();
    this.waiters.push({ n, d });
    return d.promise;
  }

  /** The event types received, in order. */
  get types(): string[] {
    return this.received.map((r) => r.json?.type);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Creates an endpoint through the domain (deleted when the test ends, so later tests' senders leave it alone). */
export async function createEndpoint(
  services: Services,
  orgId: string,
  url: string,
  events: readonly WebhookEventType[],
): Promise<{ id: string; secret: string }> {
  const r = await services.webhooks.endpoints.create(orgId, { url, events });
  if (!r.ok) throw new Error(`endpoint not created: ${JSON.stringify(r.failure)}`);
  const { id } = r.value.endpoint;
  onTestFinished(async () => {
    await services.webhooks.endpoints.delete(orgId, id);
  });
  return { id, secret: r.value.secret };
}

/** Resolves once `n` attempts to the endpoint have been recorded by the gateway's sender (arm it before causing them). */
export function recorded(services: Services, endpointId: string, n = 1): Promise<void> {
  const sender = services.webhooks.sender;
  if (!sender) throw new Error('this gateway has no webhook sender (set SENDER_ENV)');
  return new Promise((resolve) => {
    let seen = 0;
    const on = (id: string, attempts: number) => {
      if (id !== endpointId || (seen += attempts) < n) return;
      sender.monitor.off('recorded', on);
      resolve();
    };
    sender.monitor.on('recorded', on);
  });
}

/** A clock that tests move forward. */
export class TestClock {
  offsetMs = 0;
  readonly now = () => new Date(Date.now() + this.offsetMs);
  /** Moves the clock to `at` (never backwards). */
  set(at: Date): void {
    this.offsetMs = Math.max(this.offsetMs, at.getTime() - Date.now());
  }
}
