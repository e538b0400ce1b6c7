// A TCP proxy in front of a gateway, standing in for the network between a browser and it:
// a test can cut the WebSocket connections going through it (both sides closed at once, as when
// a link drops or a load balancer kills the connection), freeze them (nothing passes and nothing
// closes, as on a link that silently drops packets) and refuse new connections for a while
// (everything, or only WebSocket handshakes). Disposed when the test ends.
//
//   const proxy = await startTcpProxy(ctx.gw.port);
//   await page.goto(`${proxy.url}/dashboard`);
//   proxy.cutWebSockets();
import { createConnection, createServer, type Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export type Refuse = 'none' | 'websockets' | 'all';

export interface TcpProxy {
  /** http://127.0.0.1:<port>: what the browser opens. */
  url: string;
  /** WebSocket connections accepted so far (handshakes passed through). */
  readonly webSocketsAccepted: number;
  /** Connections refused so far (while `refuse` was not 'none'). */
  readonly refused: number;
  /** What to refuse from now on ('none' by default). */
  refuse(what: Refuse): void;
  /** Sends new connections to another port from now on (another gateway instance). */
  retarget(port: number): void;
  /** Closes every open WebSocket connection, on both sides; returns how many. */
  cutWebSockets(): number;
  /** Stops forwarding on every open WebSocket connection without closing it; returns how many. */
  freezeWebSockets(): number;
  /** Resolves once `refused` reaches `n`. */
  whenRefused(n: number): Promise<void>;
  close(): Promise<void>;
}

/** The first request of a connection asks for a WebSocket upgrade. */
function isUpgrade(head: string): boolean {
  return /\r\nupgrade:\s*websocket\s*\r\n/i.test(head);
}

/** Starts a proxy to 127.0.0.1:`port`; it is closed when the current test ends. */
export async function startTcpProxy(port: number): Promise<TcpProxy> {
  let targetPort = port;
  let mode: Refuse = 'none';
  let accepted = 0;
  let refused = 0;
  const open = new Set<Socket>();
  const webSockets = new Set<{ client: Socket; upstream: Socket }>();
  const refusalWaiters: { n: number; resolve: () => void }[] = [];

  const refuseConnection = (client: Socket) => {
    refused += 1;
    client.resetAndDestroy();
    for (const w of refusalWaiters.splice(0)) {
      if (refused >= w.n) w.resolve();
      else refusalWaiters.push(w);
    }
  };

  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (mode === 'all') return refuseConnection(client);
    // Read the first request's head to tell WebSocket handshakes from HTTP requests.
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n') && head.length < 16_384) return;
      client.off('data', onData);
      client.pause();
      const upgrade = isUpgrade(head);
      if (upgrade && mode === 'websockets') return refuseConnection(client);
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      open.add(upstream);
      upstream.on('close', () => open.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.write(Buffer.from(head, 'latin1'));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      if (upgrade) {
        accepted += 1;
        const pair = { client, upstream };
        webSockets.add(pair);
        const forget = () => webSockets.delete(pair);
        client.on('close', forget);
        upstream.on('close', forget);
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');

  const proxy: TcpProxy = {
    url: `http://127.0.0.1:${address.port}`,
    get webSocketsAccepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    refuse(what) {
      mode = what;
    },
    retarget(next) {
      targetPort = next;
    },
    cutWebSockets() {
      const pairs = [...webSockets];
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      webSockets.clear();
      return pairs.length;
    },
    freezeWebSockets() {
      const pairs = [...webSockets];
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      webSockets.clear();
      return pairs.length;
    },
    whenRefused(n) {
      if (refused >= n) return Promise.resolve();
      return new Promise((resolve) => refusalWaiters.push({ n, resolve }));
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  onTestFinished(() => proxy.close());
  return proxy;
}
