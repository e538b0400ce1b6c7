// The webhook transport alone (no database): pipelining on an endpoint's own connection, and
// how its timeouts are counted. Receivers are real HTTP servers on 127.0.0.1.
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebhookTransport, type AttemptOutcome } from '../src/webhooks/transport.js';
import { Receiver } from './helpers/webhooks.js';

const OPEN = { allowInsecure: true, allowPrivateNetworks: true };

describe('webhook transport', () => {
  it('a pipelined request is timed from its predecessor’s answer: a receiver answering in turn is not a timeout', async () => {
    // The first request (one at a time on a new connection) is answered at once; the next three
    // are answered one after the other, 400 ms apart: the last at ~1.2 s, past the 1 s timeout
    // counted from its dispatch, but 400 ms after the answer ahead of it.
    let previous = Promise.resolve();
    const receiver = await Receiver.start((n) => {
      if (n === 0) return 200;
      previous = previous.then(() => new Promise((resolve) => setTimeout(resolve, 400)));
      return previous.then(() => 200);
    });
    const transport = new WebhookTransport(OPEN, { pipelining: 10 });
    try {
      const send = (after?: Promise<unknown>) =>
        transport.attempt({ endpointId: 'e', url: receiver.url(), body: '{}', headers: {}, timeoutMs: 1000, ...(after ? { after } : {}) });
      expect(await send()).toEqual({ kind: 'delivered', status: 200 });
      expect(transport.depth('e')).toBe(10);
      const t0 = performance.now();
      const outcomes: Promise<AttemptOutcome>[] = [];
      for (let i = 0; i < 3; i++) outcomes.push(send(outcomes.at(-1)));
      expect(await Promise.all(outcomes)).toEqual(Array.from({ length: 3 }, () => ({ kind: 'delivered', status: 200 })));
      expect(performance.now() - t0).toBeGreaterThan(1100);
      // All three were in flight on the one connection of the first.
      expect(receiver.connections).toBe(1);
    } finally {
      transport.close();
    }
  });

  it('the deadline (the end of the sender’s lease) ends an attempt whatever its own timeout', async () => {
    const receiver = await Receiver.start(() => 'hang');
    const transport = new WebhookTransport(OPEN, { pipelining: 10 });
    try {
      const t0 = performance.now();
      const outcome = await transport.attempt({
        endpointId: 'e',
        url: receiver.url(),
        body: '{}',
        headers: {},
        timeoutMs: 10_000,
        deadline: performance.now() + 300,
      });
      expect(outcome).toEqual({ kind: 'timeout', error: 'no answer before the end of the lease' });
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(receiver.received).toHaveLength(1);
    } finally {
      transport.close();
    }
  });

  it('an attempt waiting behind a hanging one ends with it at the deadline, not its own timeout later', async () => {
    const receiver = await Receiver.start(() => 'hang');
    const transport = new WebhookTransport(OPEN, { pipelining: 10 });
    try {
      const t0 = performance.now();
      const deadline = performance.now() + 300;
      const request = { endpointId: 'e', url: receiver.url(), body: '{}', headers: {}, timeoutMs: 10_000, deadline };
      const first = transport.attempt(request);
      // Its time counts from its predecessor's outcome (the receiver answers in order).
      const second = transport.attempt({ ...request, after: first });
      const lease = { kind: 'timeout', error: 'no answer before the end of the lease' };
      expect(await first).toEqual(lease);
      expect(await second).toEqual(lease);
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      transport.close();
    }
  });

  it('each endpoint has its own connection, even to the same host', async () => {
    const receiver = await Receiver.start();
    const transport = new WebhookTransport(OPEN, { pipelining: 10 });
    try {
      for (const endpointId of ['a', 'b', 'a', 'b']) {
        expect(await transport.attempt({ endpointId, url: receiver.url(), body: '{}', headers: {}, timeoutMs: 2000 })).toMatchObject({
          kind: 'delivered',
        });
      }
      expect(receiver.received.map((r) => r.connection)).toEqual([1, 2, 1, 2]);
    } finally {
      transport.close();
    }
  });

  it('the requests written to an endpoint in one turn leave in one system call, wherever undici writes them from', async () => {
    // Counted where Node hands a socket's bytes to the system (net.Socket's _writeGeneric, which
    // both write and writev go through in Node 20), for this receiver's port only. undici writes
    // each request on its own, also from its queue as answers arrive; held around our own calls
    // only, that still made one system call per request (200 here).
    const receiver = await Receiver.start();
    const transport = new WebhookTransport(OPEN, { pipelining: 10 });
    const proto = net.Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
    const writeGeneric = proto._writeGeneric;
    let writes = 0;
    proto._writeGeneric = function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort === receiver.port) writes += 1;
      return writeGeneric.apply(this, args);
    };
    try {
      const send = (i: number, after?: Promise<unknown>) =>
        transport.attempt({
          endpointId: 'e',
          url: receiver.url(),
          body: `{"i":${i}}`,
          headers: {},
          timeoutMs: 5000,
          ...(after ? { after } : {}),
        });
      expect(await send(-1)).toEqual({ kind: 'delivered', status: 200 });
      writes = 0;
      // As the sender sends a batch: in order, at most the depth in flight, the next one handed
      // over as the oldest is answered.
      const window: Promise<AttemptOutcome>[] = [];
      const outcomes: AttemptOutcome[] = [];
      for (let i = 0; i < 200; i++) {
        window.push(send(i, window.at(-1)));
        if (window.length >= transport.depth('e')) outcomes.push(await window.shift()!);
      }
      outcomes.push(...(await Promise.all(window)));
      expect(outcomes.filter((o) => o.kind === 'delivered')).toHaveLength(200);
      expect(receiver.received.slice(1).map((r) => (r.json as { i: number }).i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(writes).toBeGreaterThan(0);
      expect(writes).toBeLessThanOrEqual(50);
    } finally {
      proto._writeGeneric = writeGeneric;
      transport.close();
    }
  });

  it('whatever a receiver answers (status, Connection header, body size, Location), the outcome follows the status and the excerpt stays short and printable', async () => {
    interface Answer {
      status: number;
      connection: string | null;
      bodyBytes: number;
      location: string | null;
    }
    const answer = fc.record({
      status: fc.integer({ min: 200, max: 599 }),
      connection: fc.constantFrom(null, 'close', 'keep-alive', 'Close', 'keep-alive, close'),
      bodyBytes: fc.constantFrom(0, 1, 4095, 4096, 4097, 70_000),
      location: fc.option(fc.stringMatching(/^[\x20-\x7e]{0,300}$/), { nil: null }),
    });
    // Each request carries its index; the receiver answers it from the script, the same way
    // if it arrives twice (a connection lost with requests behind the one answered).
    let script: Answer[] = [];
    let arrivals: number[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { i } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { i: number };
        arrivals.push(i);
        const a = script[i]!;
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (a.connection) headers.connection = a.connection;
        if (a.location !== null) headers.location = a.location;
        res.writeHead(a.status, headers);
        res.end(Buffer.alloc(a.bodyBytes, 0x07)); // BEL: a control character the excerpt must drop
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const transport = new WebhookTransport(OPEN, { pipelining: 10 });
    const seed = Number((process.env.FUZZ_SEED ?? '1').split(',')[0]);
    // A fresh endpoint (connection) per run: what one run taught the transport does not carry over.
    let endpointNumber = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 4 }), async (answers) => {
          script = answers;
          arrivals = [];
          const endpointId = `e${endpointNumber}`;
          // Pipelined as the sender does: each timed from the answer ahead of it.
          const outcomes: Promise<AttemptOutcome>[] = [];
          for (let i = 0; i < answers.length; i++) {
            const after = outcomes.at(-1);
            const body = JSON.stringify({ i });
            outcomes.push(transport.attempt({ endpointId, url, body, headers: {}, timeoutMs: 5000, ...(after ? { after } : {}) }));
          }
          const got = await Promise.all(outcomes);
          got.forEach((o, i) => {
            const status = answers[i]!.status;
            if (status < 300) expect(o).toEqual({ kind: 'delivered', status });
            else {
              expect(o).toMatchObject({ kind: 'http_error', status });
              if (o.kind !== 'http_error') return;
              expect(o.error.length).toBeLessThanOrEqual(260);
              expect(o.error).not.toMatch(/[\u0000-\u001f\u007f]/);
              if (status < 400) expect(o.error).toMatch(/redirect not followed/);
            }
          });
          // Every request arrived, in order of first arrival, and none more than twice.
          const firsts = arrivals.filter((i, k) => arrivals.indexOf(i) === k);
          expect(firsts).toEqual(answers.map((_, i) => i));
          for (let i = 0; i < answers.length; i++) expect(arrivals.filter((x) => x === i).length).toBeLessThanOrEqual(2);
          endpointNumber += 1;
        }),
        { numRuns: 40, seed },
      );
    } finally {
      transport.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
