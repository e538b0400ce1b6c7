// A raw graphql-transport-ws connection for protocol-level tests: send any message, read the
// messages and the close code and reason as they come (deferred waits, never sleeps).
import WebSocket from 'ws';
import { deferred, type Deferred } from './deferred.js';

export interface WsMessage {
  type: string;
  id?: string;
  payload?: any;
}

export class RawWs {
  readonly closed = deferred<{ code: number; reason: string }>();
  private readonly inbox: WsMessage[] = [];
  private waiting: Deferred<WsMessage> | null = null;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      // ws hands a text message over as one Buffer (binaryType 'nodebuffer', the default): String() is its UTF-8 text.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      const message = JSON.parse(String(data)) as WsMessage;
      const w = this.waiting;
      this.waiting = null;
      if (w) w.resolve(message);
      else this.inbox.push(message);
    });
    socket.on('close', (code, reason) => {
      this.closed.resolve({ code, reason: String(reason) });
      this.waiting?.reject(new Error(`closed ${code} ${String(reason)}`));
    });
    socket.on('error', () => {});
  }

  /** Opens a connection to `<baseUrl>/graphql` with the graphql-transport-ws subprotocol. */
  static async open(baseUrl: string): Promise<RawWs> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new RawWs(socket);
  }

  /** Opens and sends connection_init with `payload`; resolves with the first answer (ack), or rejects on close. */
  static async connect(baseUrl: string, payload: Record<string, unknown>): Promise<RawWs> {
    const ws = await RawWs.open(baseUrl);
    ws.send({ type: 'connection_init', payload });
    const ack = await ws.next();
    if (ack.type !== 'connection_ack') throw new Error(`expected connection_ack, got ${JSON.stringify(ack)}`);
    return ws;
  }

  send(message: WsMessage | string): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message received. */
  next(): Promise<WsMessage> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    this.waiting = deferred<WsMessage>();
    return this.waiting.promise;
  }

  /** Subscribes and returns the messages of that operation up to its complete or error. */
  async run(id: string, query: string, extra: Record<string, unknown> = {}): Promise<WsMessage[]> {
    this.send({ type: 'subscribe', id, payload: { query, ...extra } });
    const out: WsMessage[] = [];
    for (;;) {
      const m = await this.next();
      if (m.id !== id) continue;
      out.push(m);
      if (m.type === 'complete' || m.type === 'error') return out;
    }
  }

  close(): void {
    this.socket.close();
  }
}
