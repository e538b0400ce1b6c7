// One delivery attempt over HTTP (SPEC section 10): POST the signed body, 2xx within the
// timeout is success. Redirects are not followed (a 3xx is a failed attempt). The response
// body is read up to a small bound, and only a short excerpt of it is kept. The address
// policy is applied when connecting (see address-policy.ts).
//
// Each endpoint has its own keep-alive connection (an undici `Client`), for two reasons:
// - isolation: a slow endpoint only ever blocks its own connection, even when it shares a host
//   with other endpoints (several organisations' endpoints on one SaaS host, say);
// - order with throughput: the sender hands the transport several attempts of one endpoint at
//   a time, in commit order, and they are pipelined on that one connection (RFC 9112 §9.3.2).
//   The receiver reads them in the order they were sent, as it would one by one, but the
//   endpoint's throughput is no longer one attempt per round trip through two busy event loops.
//   The RFC asks a client not to pipeline after a non-idempotent request unless it can recover
//   from a partial failure: webhooks can, since delivery is at-least-once and every attempt of
//   an event carries the same `webhook-id` for the receiver to dedupe on. So the requests are
//   marked idempotent, and when a connection drops with requests in flight, the first one fails
//   (it is retried with backoff) and undici sends the rest again on a new connection, in order.
//   A new connection sends one request at a time until an answer shows the receiver keeps it
//   open; a receiver that answers `Connection: close` is never pipelined to (some servers, Node's
//   among them, still run the requests queued behind such an answer, and each would then arrive
//   again on the next connection: duplicates growing with the depth), nor is one whose
//   connection was lost with requests behind the one being answered (it closed it, or we did,
//   for an answer past the read bound): those are sent again once, one at a time. `WEBHOOK_PIPELINING=1`
//   turns pipelining off (one request at a time per endpoint).
// undici rather than node:http: node:http has no pipelining, and undici costs less CPU per
// request, which the API requests served by the same process feel.
//
// Every write to an endpoint's socket within one turn of the event loop leaves in one system
// call: the socket holds its writes (cork) from the first of a turn until the loop's check phase.
// undici writes each request on its own, and not always in the turn the request was handed over
// (it also writes from its queue as answers arrive), so the hold is on the socket, not around
// our calls: held around our calls only, one write per request still left (measured: 1.0 writes
// per attempt with a window of 10; 0.1 with the hold on the socket). A write on a TCP socket is a
// system call that, on a virtual machine or over loopback, costs more than building and signing
// the request.
import type { Socket } from 'node:net';
import { buildConnector, Client, type Dispatcher } from 'undici';
import { AddressRefusedError, checkAddress, guardedLookup, ipLiteralOf, urlProblem, type NetworkPolicy } from './address-policy.js';

/** Bytes of a response body read at most; the rest is not read (the connection is dropped). */
const MAX_RESPONSE_BYTES = 4096;
/** Characters of the response kept in `last_error`. */
const EXCERPT_CHARS = 200;
const USER_AGENT = 'customer-gateway-webhooks/1';
/** An endpoint's connection object is dropped after this long without an attempt. */
const IDLE_CONNECTION_MS = 60_000;
/** An idle keep-alive socket is closed after this long (a receiver's own timeout may be shorter). */
const KEEP_ALIVE_MS = 4_000;

export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  /** The receiver answered, but not 2xx (3xx included: redirects are not followed). */
  | { kind: 'http_error'; status: number; error: string }
  | { kind: 'timeout'; error: string }
  | { kind: 'network_error'; error: string }
  /** The URL or an address it resolves to is not allowed: nothing was sent. */
  | { kind: 'refused'; error: string };

export type AttemptOutcomeKind = AttemptOutcome['kind'];

export interface AttemptRequest {
  /** The endpoint the attempt is for: its attempts share one connection, and no other's do. */
  endpointId: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  /**
   * A 2xx within this is success. Counted from the call, or, for a request pipelined behind
   * another, from when that one is answered (`after`): the receiver answers in order, so a
   * request's wait behind its predecessors is not its own slowness (undici's own header timeout
   * works the same way).
   */
  timeoutMs: number;
  after?: Promise<unknown>;
  /**
   * When the attempt is abandoned whatever its own timeout (`performance.now()` time): the end
   * of the sender's lease, so that no attempt outlives it, even one pipelined behind slow ones.
   */
  deadline?: number;
}

export interface TransportOptions {
  /** Requests of one endpoint in flight at once on its connection (1: no pipelining). */
  pipelining: number;
}

interface Connection {
  client: Client;
  origin: string;
  /** The endpoint URL last checked against the policy, and its path. */
  url: string;
  path: string;
  lastUsed: number;
  /**
   * Not pipelined to (while this object lives): the receiver answered `Connection: close`, or
   * the connection was lost with requests behind the one being answered.
   */
  closes: boolean;
  /** A socket is up (undici's 'connect' and 'disconnect' events). */
  connected: boolean;
  /** Attempts of this endpoint between their request and their outcome. */
  inFlight: number;
}

/** Sends attempts, each endpoint over its own keep-alive connection. */
export class WebhookTransport {
  private readonly lookup;
  private readonly connections = new Map<string, Connection>();
  private lastSweep = performance.now();

  constructor(
    private readonly policy: NetworkPolicy,
    private readonly options: TransportOptions = { pipelining: 1 },
  ) {
    this.lookup = guardedLookup(policy);
  }

  /**
   * Requests worth handing over at once for an endpoint: the pipelining depth once its receiver
   * has shown it keeps the connection open, else 1 (more would only wait in the queue).
   */
  depth(endpointId: string): number {
    const c = this.connections.get(endpointId);
    return c && !c.closes ? c.client.pipelining : 1;
  }

  /**
   * Makes one attempt; never throws (every failure is an outcome). It is undici's `dispatch`
   * with a handler of our own rather than `request()`: the answer is decided from its status and
   * at most MAX_RESPONSE_BYTES of its body, so no response stream, promise wrapper or abort
   * signal is built per attempt (they were a third of the sender's own CPU per webhook).
   */
  attempt(req: AttemptRequest): Promise<AttemptOutcome> {
    const connection = this.connectionFor(req);
    if (typeof connection === 'string') return Promise.resolve({ kind: 'refused', error: connection });
    return new Promise<AttemptOutcome>((resolve) => {
      const handler = new InFlight(this, connection, req, resolve);
      connection.client.dispatch(
        {
          path: connection.path,
          method: 'POST',
          headers: {
            ...req.headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(req.body)),
            'user-agent': USER_AGENT,
          },
          body: req.body,
          // See the top of this file: safe to send again, and to pipeline behind others.
          idempotent: true,
          blocking: false,
        },
        handler,
      );
    });
  }

  /** Pipelines on a connection once an answer shows it stays open; stops for good on `Connection: close`. */
  learn(c: Connection, connectionHeader: string | string[] | undefined): void {
    if (c.closes) return;
    if (/\bclose\b/i.test(String(connectionHeader ?? ''))) stopPipelining(c);
    else if (c.client.pipelining !== this.options.pipelining) c.client.pipelining = this.options.pipelining;
  }

  /**
   * The endpoint's connection, or why its URL is refused. The URL's rules (scheme, literal
   * addresses in any spelling) depend only on the URL and the policy, so they are checked when
   * the endpoint's URL is first seen or changes, not on every attempt; the addresses a name
   * resolves to are checked on every connect (`guardedLookup`). A URL on another origin gets a
   * new connection.
   */
  private connectionFor(req: AttemptRequest): Connection | string {
    const now = performance.now();
    if (now - this.lastSweep > IDLE_CONNECTION_MS) this.sweep(now);
    let c = this.connections.get(req.endpointId);
    if (c && c.url === req.url) {
      c.lastUsed = now;
      return c;
    }
    const problem = urlProblem(req.url, this.policy);
    if (problem) return `url ${problem}`;
    const url = new URL(req.url);
    const literal = ipLiteralOf(url);
    try {
      if (literal) checkAddress(literal, this.policy);
    } catch (error) {
      return (error as Error).message;
    }
    if (c && c.origin !== url.origin) {
      this.connections.delete(req.endpointId);
      void c.client.close();
      c = undefined;
    }
    c ??= this.open(req.endpointId, url.origin, req.timeoutMs);
    c.url = req.url;
    c.path = `${url.pathname}${url.search}`;
    c.lastUsed = now;
    return c;
  }

  private open(endpointId: string, origin: string, timeoutMs: number): Connection {
    const connector = buildConnector({ lookup: this.lookup, timeout: timeoutMs });
    const client = new Client(origin, {
      // One request at a time until the receiver shows it keeps the connection (learn()).
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      // Our own timer bounds the whole attempt; these only make sure undici never waits longer.
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // undici's own connector (the lookup checks every address); its sockets hold each turn's writes.
      connect: (options, callback) =>
        connector(options, (...args) => {
          const [error, socket] = args;
          if (error === null) holdWritesPerTurn(socket);
          callback(...args);
        }),
    });
    const c: Connection = {
      client,
      origin,
      url: '',
      path: '',
      lastUsed: 0,
      closes: false,
      connected: false,
      inFlight: 0,
    };
    // Each attempt waiting for the connection listens for it (pipelining: up to 20).
    client.setMaxListeners(64);
    client.on('connect', () => (c.connected = true));
    client.on('disconnect', () => {
      c.connected = false;
      // Lost with requests pipelined behind the one being answered (the receiver closed it, or we
      // did: a body past the read bound): undici sends those again on the next connection, so
      // the receiver may see them twice. Once is enough: this endpoint is not pipelined to again.
      if (c.inFlight > 1) stopPipelining(c);
    });
    client.on('connectionError', () => (c.connected = false));
    this.connections.set(endpointId, c);
    return c;
  }

  /** Drops the connections of endpoints not attempted for a while (deleted, disabled, or quiet). */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [id, c] of this.connections) {
      if (now - c.lastUsed < IDLE_CONNECTION_MS) continue;
      this.connections.delete(id);
      void c.client.close();
    }
  }

  /** Closes every connection (attempts still in flight fail as network errors). */
  close(): void {
    for (const c of this.connections.values()) void c.client.destroy();
    this.connections.clear();
  }
}

/**
 * Makes the socket hold every write of a turn of the event loop until its check phase, so that
 * the requests written in one turn (a pipelined window, or the next ones sent as a burst of answers
 * is read) leave in one system call. The hold is released in the check phase whatever happens;
 * a socket destroyed meanwhile drops what it held, as it would have dropped it unheld.
 */
function holdWritesPerTurn(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let held = false;
  const release = () => {
    held = false;
    socket.uncork();
  };
  socket.write = (...args: unknown[]): boolean => {
    if (!held) {
      held = true;
      socket.cork();
      setImmediate(release);
    }
    return write(...args);
  };
}

/** One request at a time on this connection from now on. */
function stopPipelining(c: Connection): void {
  c.closes = true;
  c.client.pipelining = 1;
}

/**
 * One attempt between its dispatch and its outcome: undici's handler of it, and its timer. A
 * class rather than closures: the sender makes one per webhook, and each closure was one more
 * object to allocate and collect.
 *
 * The timeout counts once the request can be written: after its predecessor's answer (`after`),
 * and once the connection is up (undici writes on 'connect', in the same turn; connecting has its
 * own timeout). So a request is never timed out before it left, however busy this process is.
 * The end of the lease (`deadline`) bounds it too. One timer: while the attempt waits for its
 * turn, its predecessor's timer stands for it (the predecessor is answered or abandoned by the
 * same deadline, at the latest), so it is armed when the turn comes, for whichever ends first.
 */
class InFlight implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private timedOut: string | null = null;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  /** What the attempt still waits for before its time counts (its predecessor, the connection). */
  private waiting = 0;
  private readonly answer = new Answer();
  private decided: AttemptOutcome | null = null;
  /** Called once by each thing the attempt waits for (its predecessor's answer, the connection). */
  private readonly whenReady = (): void => this.ready();

  constructor(
    private readonly transport: WebhookTransport,
    private readonly connection: Connection,
    private readonly req: AttemptRequest,
    private readonly resolve: (outcome: AttemptOutcome) => void,
  ) {
    connection.inFlight += 1;
    if (req.after) {
      this.waiting += 1;
      void req.after.then(this.whenReady, this.whenReady);
    }
    if (!connection.connected) {
      this.waiting += 1;
      connection.client.once('connect', this.whenReady);
    }
    if (this.waiting === 0) this.arm();
  }

  private ready(): void {
    this.waiting -= 1;
    if (this.waiting === 0) this.arm();
  }

  private arm(): void {
    if (this.settled) return;
    const { timeoutMs, deadline } = this.req;
    const untilDeadline = deadline === undefined ? Infinity : Math.max(0, deadline - performance.now());
    const why = untilDeadline < timeoutMs ? 'no answer before the end of the lease' : `no answer within ${timeoutMs} ms`;
    this.timer = setTimeout(expire, Math.min(timeoutMs, untilDeadline), this, why);
  }

  /** The timer ran out: a request not yet written is aborted when undici gets to it (onRequestStart). */
  expire(why: string): void {
    this.timedOut = why;
    this.controller?.abort(new Error(why));
  }

  private settle(outcome: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.connection.inFlight -= 1;
    if (this.waiting > 0) this.connection.client.off('connect', this.whenReady);
    clearTimeout(this.timer);
    this.resolve(outcome);
  }

  onRequestStart(ctrl: Dispatcher.DispatchController): void {
    // Again for a request sent again after its connection dropped: a fresh answer.
    this.controller = ctrl;
    this.answer.reset();
    if (this.timedOut !== null) ctrl.abort(new Error(this.timedOut));
  }

  onResponseStart(_ctrl: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.answer.start(statusCode, headers);
    if (statusCode >= 200) this.transport.learn(this.connection, headers.connection);
  }

  onResponseData(ctrl: Dispatcher.DispatchController, chunk: Buffer): void {
    // Past the bound the answer is decided: the rest is not read (the connection is dropped).
    if (this.answer.data(chunk)) {
      this.decided = this.answer.outcome();
      ctrl.abort(new Error('response body past the read bound'));
      this.settle(this.decided);
    }
  }

  onResponseEnd(): void {
    this.settle(this.answer.outcome());
  }

  onResponseError(_ctrl: Dispatcher.DispatchController | null, error: Error): void {
    if (this.decided !== null) return this.settle(this.decided);
    if (this.timedOut !== null) return this.settle({ kind: 'timeout', error: this.timedOut });
    const refused = refusalOf(error);
    if (refused) return this.settle({ kind: 'refused', error: refused.message });
    const e = error as NodeJS.ErrnoException;
    this.settle({ kind: 'network_error', error: excerptOf(`${e.code ?? 'error'}: ${e.message}`) });
  }
}

function expire(attempt: InFlight, why: string): void {
  attempt.expire(why);
}

/** A response as it arrives: its status, where a 3xx points, and the start of its body. */
class Answer {
  private status = 0;
  private location = '';
  private size = 0;
  private chunks: Buffer[] = [];

  reset(): void {
    this.status = 0;
    this.location = '';
    this.size = 0;
    this.chunks = [];
  }

  start(status: number, headers: Record<string, string | string[] | undefined>): void {
    // A 1xx is followed by the real answer.
    if (status < 200) return;
    this.status = status;
    this.location = String(headers.location ?? '');
  }

  /** Takes a body chunk; true once the body is past MAX_RESPONSE_BYTES (the answer is decided). */
  data(chunk: Buffer): boolean {
    // Only a failure's body is kept, for its excerpt.
    if (this.status >= 400 && this.size < MAX_RESPONSE_BYTES) this.chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - this.size));
    this.size += chunk.length;
    return this.size > MAX_RESPONSE_BYTES;
  }

  outcome(): AttemptOutcome {
    const status = this.status;
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status >= 300 && status < 400) {
      return { kind: 'http_error', status, error: `HTTP ${status}: redirect not followed (to ${excerptOf(this.location)})` };
    }
    const excerpt = excerptOf(Buffer.concat(this.chunks).toString('utf8'));
    return { kind: 'http_error', status, error: `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}` };
  }
}

/** The address refusal behind a connect error, if that is what it was. */
function refusalOf(error: unknown): AddressRefusedError | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (e instanceof AddressRefusedError) return e;
  }
  return null;
}

/** A short, printable excerpt (no control characters) for the delivery log. */
function excerptOf(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return clean.length > EXCERPT_CHARS ? `${clean.slice(0, EXCERPT_CHARS)}…` : clean;
}
