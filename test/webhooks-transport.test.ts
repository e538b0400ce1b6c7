// The webhook transport alone (no database): pipelining on an endpoint's own connection, and
// how its timeouts are counted. Receivers are real HTTP servers on 127.0.0.1.
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
});
