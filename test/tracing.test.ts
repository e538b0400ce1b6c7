// Tracing is opt-in (SPEC section 12). Without OTEL_EXPORTER_OTLP_ENDPOINT the gateway loads no
// OpenTelemetry module at all; with it, a real OTLP/HTTP receiver on loopback gets the three
// kinds of spans of one request in one trace: the HTTP request (named by its route template),
// the GraphQL operation, and the database statements (Prisma's instrumentation).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from './helpers/db.js';
import { runTs } from './helpers/process.js';

const PROBE = fileURLToPath(new URL('./helpers/tracing/probe.ts', import.meta.url));
const RECORDER = fileURLToPath(new URL('./helpers/tracing/record-modules.mjs', import.meta.url));

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP (JSON) trace receiver on 127.0.0.1, port 0. */
class OtlpReceiver {
  readonly spans: Span[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.method === 'POST') {
          const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] };
          for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) receiver.spans.push(...ss.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Declared after the server it holds; the handler above runs only once it is listening.
    const receiver = new OtlpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return receiver;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Runs the probe gateway process (tsx, with the module recorder preloaded). */
async function probe(env: Record<string, string>): Promise<{ graphql: number; rest: number; loaded: string[] }> {
  const out = await runTs(PROBE, [], { ...env, NODE_OPTIONS: `--import ${RECORDER}`, DATABASE_URL: '' });
  if (out.code !== 0) throw new Error(`probe exited ${out.code}: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!);
}

// Independent of the database kind (the probe runs on PGlite): once, in the pglite project.
describe.runIf(!onPostgres)('tracing (OpenTelemetry, opt-in)', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
  });
  afterAll(() => receiver?.close());

  it('without OTEL_EXPORTER_OTLP_ENDPOINT, no OpenTelemetry module is loaded', async () => {
    const run = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: '' });
    expect(run.graphql).toBe(200);
    expect(run.rest).toBe(200);
    expect(run.loaded).toEqual([]);
  }, 60_000);

  it('with it, the HTTP request, the GraphQL operation and the database statements arrive as spans of one trace', async () => {
    const run = await probe({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'gateway-under-test' });
    expect(run.graphql).toBe(200);
    expect(run.loaded.length).toBeGreaterThan(0);
    const spans = receiver.spans;
    const http = spans.find((s) => s.name === 'POST /graphql');
    expect(http, spans.map((s) => s.name).join(', ')).toBeDefined();
    expect(spans.some((s) => s.name === 'GET /api/v1/customers')).toBe(true);
    const inTrace = spans.filter((s) => s.traceId === http!.traceId);
    const operation = inTrace.find((s) => s.name === 'query.Probe');
    expect(operation?.parentSpanId).toBe(http!.spanId);
    const statements = inTrace.filter((s) => s.name.startsWith('prisma:'));
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.some((s) => /db_query/.test(s.name))).toBe(true);
    // No document, variables or raw path in any attribute: they may carry customer data.
    expect(JSON.stringify(spans)).not.toMatch(/totalCount|customers\(first/);
  }, 60_000);
});
