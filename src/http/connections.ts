// Connection bookkeeping of the HTTP server (SPEC section 9): sockets that have not sent a
// request yet, the responses in flight, request bodies left unread by an early answer, and
// the drain of a graceful shutdown. server.ts wires it; nothing here knows a route.
//
// Why each piece:
// - Silent sockets (connected, no complete request yet) are bounded in time by Node's
//   headersTimeout, and in number here: past HTTP_MAX_SILENT_SOCKETS the oldest are closed, but
//   only those silent for SILENT_SOCKET_MIN_AGE_MS or more. Legitimate clients send within
//   milliseconds, so under a flood of idle sockets (slowloris) a silent socket lives about a
//   second instead of the full headers timeout; a burst of real connections, accepted before
//   any of them could be read, is never mistaken for one.
// - An answer sent before the request body was read in full (413, 401 on a POST, …) leaves
//   the rest of the body on the wire. Node discards it only if nobody started reading; here
//   it is always read and discarded, up to DRAIN_MAX_BYTES, so the keep-alive connection stays
//   usable for the next request; a body larger than that closes the connection instead.
// - Drain: every response that has not started yet carries `Connection: close`. An idle
//   keep-alive connection is not closed at once: a request may already be on its way on it
//   (the client would see a reset, and lose it). It is closed once it has stayed idle for
//   the idle grace since the drain began or since its last answer; a request arriving before
//   that is answered, with `Connection: close`. Bytes read on it since its last answer (the
//   start of a next request) keep it open. The caller learns when the last socket is gone.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** A socket silent for less than this is never closed for the count (see the file top). */
export const SILENT_SOCKET_MIN_AGE_MS = 1000;
/** How much of an unread request body is discarded to keep its connection usable. */
export const DRAIN_MAX_BYTES = 1024 * 1024;
/** During a graceful drain, how long an idle connection is kept for a request already on its way. */
export const DRAIN_IDLE_GRACE_MS = 1000;

/** The bookkeeping of one HTTP server's sockets (see the file top). */
export class ConnectionTracker {
  /** Sockets without a complete request yet, oldest first (a Map keeps insertion order). */
  private readonly silent = new Map<Socket, number>();
  private readonly sockets = new Set<Socket>();
  /** Responses not finished yet, by socket. */
  private readonly inFlight = new Map<Duplex, Set<ServerResponse>>();
  /** Keep-alive sockets between requests: since when, and their byte count then. */
  private readonly idle = new Map<Socket, { since: number; bytesRead: number }>();
  private drainingSince: number | null = null;
  private idleGraceMs = 0;
  private idleCloser: NodeJS.Timeout | undefined;
  private readonly emptyWaiters: (() => void)[] = [];

  constructor(
    server: Server,
    private readonly maxSilent: number,
    private readonly now: () => number = Date.now,
  ) {
    server.on('connection', (socket: Socket) => this.connected(socket));
    // WebSocket handshakes never reach the request handler.
    server.on('upgrade', (req: IncomingMessage) => this.silent.delete(req.socket));
  }

  /** True once the drain started (readiness then fails). */
  get draining(): boolean {
    return this.drainingSince !== null;
  }

  /** Open sockets (HTTP and upgraded WebSocket ones). */
  get size(): number {
    return this.sockets.size;
  }

  /** Registers a request; call first thing in the request handler. */
  request(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.silent.delete(socket);
    this.idle.delete(socket);
    // A body too big to discard afterwards: say at once that the connection will not be reused.
    if (this.draining || declaredLength(req) > DRAIN_MAX_BYTES) res.setHeader('Connection', 'close');
    let responses = this.inFlight.get(socket);
    if (!responses) this.inFlight.set(socket, (responses = new Set()));
    responses.add(res);
    res.once('finish', () => {
      if (!req.complete) discardRest(req);
    });
    res.once('close', () => {
      responses.delete(res);
      if (responses.size > 0) return;
      this.inFlight.delete(socket);
      if (!socket.destroyed) this.idle.set(socket, { since: this.now(), bytesRead: socket.bytesRead });
    });
  }

  /** Whether a response on this socket has started and not finished (no raw bytes may be written then). */
  responding(socket: Duplex): boolean {
    for (const res of this.inFlight.get(socket) ?? []) if (res.headersSent) return true;
    return false;
  }

  /**
   * Starts the drain: responses not begun yet close their connection, and idle connections
   * are closed after `idleGraceMs` (0: at once, and as soon as any becomes idle).
   */
  startDrain(idleGraceMs: number): void {
    if (this.draining) return;
    this.drainingSince = this.now();
    this.idleGraceMs = idleGraceMs;
    for (const responses of this.inFlight.values()) {
      for (const res of responses) if (!res.headersSent) res.setHeader('Connection', 'close');
    }
    this.closeIdle();
    this.idleCloser = setInterval(() => this.closeIdle(), Math.max(10, idleGraceMs / 4));
    this.idleCloser.unref();
  }

  /** Resolves once no socket is open. */
  whenEmpty(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  /** Destroys every socket still open (the end of a drain that ran out of time). */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private connected(socket: Socket): void {
    this.sockets.add(socket);
    this.silent.set(socket, this.now());
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.silent.delete(socket);
      this.idle.delete(socket);
      this.inFlight.delete(socket);
      if (this.sockets.size > 0) return;
      clearInterval(this.idleCloser);
      for (const resolve of this.emptyWaiters.splice(0)) resolve();
    });
    this.evictSilent();
  }

  /** During the drain: closes connections idle (and silent ones still without a byte) past the grace. */
  private closeIdle(): void {
    if (this.drainingSince === null) return;
    const cutoff = this.now() - this.idleGraceMs;
    const expired = (since: number) => Math.max(since, this.drainingSince ?? since) <= cutoff;
    for (const [socket, { since, bytesRead }] of this.idle) {
      if (expired(since) && socket.bytesRead === bytesRead) socket.destroy();
    }
    for (const [socket, since] of this.silent) {
      if (expired(since) && socket.bytesRead === 0) socket.destroy();
    }
  }

  private evictSilent(): void {
    const oldestAllowed = this.now() - SILENT_SOCKET_MIN_AGE_MS;
    for (const [socket, since] of this.silent) {
      if (this.silent.size <= this.maxSilent || since > oldestAllowed) return;
      this.silent.delete(socket);
      socket.destroy();
    }
  }
}

/** Reads and discards what is left of a request body, up to DRAIN_MAX_BYTES; beyond, closes the connection. */
function discardRest(req: IncomingMessage): void {
  if (req.destroyed) return;
  let left = DRAIN_MAX_BYTES;
  if (declaredLength(req) > left) return void req.socket.destroy();
  req.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.socket.destroy();
  });
  req.resume();
}

/** The Content-Length of a request (0 when absent or malformed; Node rejects malformed ones anyway). */
function declaredLength(req: IncomingMessage): number {
  const declared = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(declared) ? declared : 0;
}
