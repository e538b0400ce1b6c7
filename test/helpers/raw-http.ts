// A raw HTTP/1.1 connection (node:net) for tests that need what fetch hides: bytes sent in
// pieces, malformed requests, keep-alive reuse, and whether and when the server closes.
import net from 'node:net';
import { deferred, type Deferred } from './deferred.js';

export interface RawResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export class RawConnection {
  /** Resolves when the server closed the connection (or it was reset: `error` says so). */
  readonly closed = deferred<{ error?: string }>();
  private buffer = Buffer.alloc(0);
  private readonly waiting: Deferred<RawResponse>[] = [];
  private readonly responses: RawResponse[] = [];

  private constructor(private readonly socket: net.Socket) {
    let error: string | undefined;
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('error', (e) => (error = e.message));
    socket.on('close', () => {
      this.closed.resolve(error === undefined ? {} : { error });
      for (const w of this.waiting.splice(0)) w.reject(new Error(`connection closed before a response${error ? `: ${error}` : ''}`));
    });
  }

  /** Connects to the server of `baseUrl` (http://host:port). */
  static open(baseUrl: string): Promise<RawConnection> {
    const { hostname, port } = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** The next complete response on this connection (bodies are framed by Content-Length). */
  response(): Promise<RawResponse> {
    const ready = this.responses.shift();
    if (ready) return Promise.resolve(ready);
    if (this.socket.destroyed) return Promise.reject(new Error('connection closed'));
    const d = deferred<RawResponse>();
    this.waiting.push(d);
    return d.promise;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + length);
      const response = { status: Number(statusLine?.split(' ')[1]), headers, body };
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(response);
      else this.responses.push(response);
    }
  }
}

/** A request as raw text; `body` is sent with its Content-Length unless `headers` frame it otherwise. */
export function rawRequest(method: string, path: string, headers: Record<string, string> = {}, body = ''): string {
  const all: Record<string, string> = { Host: 'localhost', ...headers };
  if (body && !Object.keys(all).some((h) => /^(content-length|transfer-encoding)$/i.test(h))) {
    all['Content-Length'] = String(Buffer.byteLength(body));
  }
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${body}`;
}

/** One chunk of a chunked body. */
export const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
export const LAST_CHUNK = '0\r\n\r\n';
