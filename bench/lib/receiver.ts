// A webhook receiver that does as little as it can: it frames HTTP/1.1 requests (head, then
// Content-Length bytes of body), counts them, and answers every request framed from one read
// with `204` in one write. It stands for the integrator's server, which runs on another machine:
// when a scenario measures what the sender costs the machine the gateway runs on, the CPU this
// receiver takes on the same cores is not the sender's, so it is kept to the minimum (Node's
// http server parses every header into objects and writes each answer on its own: several
// times this). Requests are not checked beyond their framing; the scenarios that check what
// arrives use a full server.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const ANSWER = Buffer.from('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n');
/** A request head longer than this is not HTTP we sent: the connection is dropped. */
const MAX_HEAD = 16 * 1024;

export interface CountingReceiver {
  port: number;
  /** Requests framed so far. */
  received(): number;
  close(): Promise<void>;
}

export async function startCountingReceiver(): Promise<CountingReceiver> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    /** Body bytes of the current request still to read; null while reading a head. */
    let body: number | null = null;
    socket.on('data', (chunk: Buffer) => {
      let data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      let answers = 0;
      for (;;) {
        if (body !== null) {
          const n = Math.min(body, data.length);
          body -= n;
          data = data.subarray(n);
          if (body > 0) break;
          // The whole request is in: answered (after its body, as a server that reads it would).
          body = null;
          answers += 1;
        }
        const end = data.indexOf(HEAD_END);
        if (end < 0) break;
        body = Number(CONTENT_LENGTH.exec(data.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        data = data.subarray(end + HEAD_END.length);
      }
      pending = Buffer.from(data);
      if (pending.length > MAX_HEAD) socket.destroy();
      if (answers === 0) return;
      count += answers;
      socket.write(answers === 1 ? ANSWER : Buffer.concat(Array.from({ length: answers }, () => ANSWER)));
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
