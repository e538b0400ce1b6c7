// Property-based fuzzing of both surfaces (SPEC section 9, issue 9): whatever a client sends —
// odd bodies, headers, paths, query parameters, cursors, GraphQL documents and variables
// (generators in helpers/fuzz.ts) — every answer is
//   - never a 5xx;
//   - in its surface's envelope with a code: REST {"error":{"code","message","details"}} with a
//     code of the contract; GraphQL `extensions.code` on every entry of `errors`;
//   - marked with X-Request-Id;
//   - free of stack traces and SQL;
// and a rejected request changes nothing: the digest of customers, customer_events and
// idempotency_keys is the same after it as before it.
//
// CI runs one fixed seed. `npm run fuzz` runs 10,000 requests over four seeds; tune with
// FUZZ_RUNS (requests per seed) and FUZZ_SEED (one seed or a comma-separated list).
import http from 'node:http';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { encodeEventCursor } from '../src/events/snapshot.js';
import { ErrorCode } from '../src/lib/error-codes.js';
import { seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { tablesDigest, type TablesDigest } from './helpers/digest.js';
import { useGateway } from './helpers/fixture.js';
import { fuzzRequest, type FuzzRequest, type FuzzWorld } from './helpers/fuzz.js';

const SEEDS = (process.env.FUZZ_SEED ?? '20260209').split(',').map((s) => Number(s.trim()));
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

const ctx = useGateway();

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Sends a request byte for byte as generated (fetch would normalise the path and refuse some headers). */
function send(req: FuzzRequest): Promise<Answer> {
  const { hostname, port } = new URL(ctx.gw.url);
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
    const r = http.request(
      {
        host: hostname,
        port,
        method: req.method,
        path: req.path,
        agent,
        headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

/** Signs that something internal leaked: stack frames, source paths, the ORM, SQL and its errors. */
const LEAKS: RegExp[] = [
  /\n\s+at \S.*:\d+:\d+/,
  /node_modules/,
  /\/src\/[\w/.-]+\.ts\b/,
  /\bprisma\b/i,
  /\bSQLSTATE\b/,
  /\b(SELECT|INSERT INTO|DELETE FROM)\b[\s\S]*\b(FROM|VALUES|WHERE)\b/,
  /invalid byte sequence|unsupported Unicode escape|violates (unique|foreign key|check) constraint|syntax error at or near|out of range for type/i,
];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What a request may have changed, judged from its answer. */
type Allowed = 'anything' | 'idempotency keys only' | 'nothing';

/** Checks one answer against the contract; returns every problem found and what it may have changed. */
function judge(req: FuzzRequest, ans: Answer): { problems: string[]; allowed: Allowed; code?: string } {
  const problems: string[] = [];
  if (ans.status >= 500) problems.push(`status ${ans.status}`);
  if (typeof ans.headers['x-request-id'] !== 'string' || ans.headers['x-request-id'] === '') problems.push('no X-Request-Id');
  for (const leak of LEAKS) if (leak.test(ans.text)) problems.push(`body leaks ${leak}`);
  const json = parseJson(ans.text);

  // Node's own parser refusals (a request line over its header limit, …) come before routing:
  // the gateway's clientError handler answers them in the REST envelope, whatever the surface.
  if (req.surface === 'rest' || ans.status === 431) {
    const ok = ans.status >= 200 && ans.status < 300;
    if (req.method === 'HEAD') return { problems, allowed: 'nothing' };
    if (!ok) {
      const error = isObject(json) && Object.keys(json).join() === 'error' ? json.error : undefined;
      if (!isObject(error)) problems.push('no {"error":{…}} envelope');
      else {
        if (typeof error.code !== 'string' || !KNOWN_CODES.has(error.code)) problems.push(`unknown error code ${String(error.code)}`);
        if (typeof error.message !== 'string' || error.message === '') problems.push('no error message');
        if (!isObject(error.details)) problems.push('details is not an object');
      }
      const code = isObject(error) && typeof error.code === 'string' ? error.code : undefined;
      // Outcomes of a request that ran are stored under its key (SPEC section 4): a conflict, and
      // the not_found of a PATCH. Nothing else of a failed request may change.
      const stored = req.idempotencyKey && (code === ErrorCode.Conflict || (code === ErrorCode.NotFound && req.method === 'PATCH'));
      return { problems, allowed: stored ? 'idempotency keys only' : 'nothing', ...(code ? { code } : {}) };
    }
    if (json === undefined) problems.push('2xx body is not JSON');
    return { problems, allowed: req.method === 'GET' ? 'nothing' : 'anything' };
  }

  // GraphQL.
  if (!isObject(json)) {
    problems.push('body is not a JSON object');
    return { problems, allowed: 'nothing' };
  }
  const errors = json.errors;
  if (errors !== undefined) {
    if (!Array.isArray(errors) || errors.length === 0) problems.push('errors is not a non-empty list');
    else
      for (const e of errors) {
        const code = isObject(e) && isObject(e.extensions) ? e.extensions.code : undefined;
        if (typeof code !== 'string' || code === '') problems.push(`error without extensions.code: ${JSON.stringify(e).slice(0, 300)}`);
      }
  }
  if (ans.status >= 400 && !Array.isArray(errors)) problems.push(`HTTP ${ans.status} without errors`);
  const firstCode = Array.isArray(errors) && isObject(errors[0]) && isObject(errors[0].extensions) ? errors[0].extensions.code : undefined;
  const code = typeof firstCode === 'string' ? firstCode : undefined;
  if (!req.mutation || errors !== undefined) return { problems, allowed: 'nothing', ...(code ? { code } : {}) };
  const payload = isObject(json.data) ? json.data[req.mutation] : undefined;
  const typename = isObject(payload) && typeof payload.__typename === 'string' ? payload.__typename : '';
  if (typename.endsWith('Success')) return { problems, allowed: 'anything', code: typename };
  const stored = req.idempotencyKey && (typename === 'CustomerConflictError' || typename === 'CustomerNotFoundError');
  return { problems, allowed: stored ? 'idempotency keys only' : 'nothing', code: typename };
}

function changes(before: TablesDigest, after: TablesDigest, allowed: Allowed): string[] {
  if (allowed === 'anything') return [];
  const changed = (['customers', 'events', 'idempotencyKeys'] as const).filter((t) => before[t] !== after[t]);
  return changed
    .filter((t) => !(allowed === 'idempotency keys only' && t === 'idempotencyKeys'))
    .map((t) => `rejected request changed ${t}`);
}

function describeExchange(req: FuzzRequest, ans: Answer): string {
  const clip = (s: string | undefined) => (s === undefined ? '' : s.length > 600 ? `${s.slice(0, 600)}…` : s);
  return `${req.method} ${clip(req.path)}\n${JSON.stringify(req.headers)}\n${clip(req.body)}\n→ ${ans.status} ${clip(ans.text)}`;
}

describe(`fuzz: no input is a server error (${dbKind})`, () => {
  let world: FuzzWorld;

  beforeAll(async () => {
    const writer = await ctx.org([Scope.CustomersRead, Scope.CustomersWrite, Scope.AmlRead], { perMinute: 1e6, perDay: 1e8 });
    const reader = await ctx.keyFor(writer.name, [Scope.CustomersRead]);
    const backOffice = await ctx.org([Scope.CustomersRead, Scope.ComplianceWrite], { perMinute: 1e6, perDay: 1e8 });
    const other = await ctx.org([Scope.CustomersRead, Scope.CustomersWrite], { perMinute: 1e6, perDay: 1e8 });
    const a = await Promise.all([
      seedCustomer(ctx.db, writer.orgId, { externalId: 'crm-1', email: 'ada@example.com' }),
      seedCustomer(ctx.db, writer.orgId, { externalId: 'crm-2', email: 'bob@example.com' }),
      seedCustomer(ctx.db, writer.orgId, { email: 'carol@example.com' }),
    ]);
    const b = await Promise.all([
      seedCustomer(ctx.db, backOffice.orgId, { externalId: 'b-1' }),
      seedCustomer(ctx.db, backOffice.orgId, { externalId: 'b-2', kycStatus: 'IN_PROGRESS' }),
      seedCustomer(ctx.db, backOffice.orgId, { kycStatus: 'VERIFIED', verifiedLegalName: 'Ada', verifiedCountry: 'GBR' }),
      seedCustomer(ctx.db, backOffice.orgId, {
        kycStatus: 'VERIFIED',
        verifiedLegalName: 'Bob',
        verifiedCountry: 'FRA',
        amlStatus: 'IN_PROGRESS',
      }),
    ]);
    // Real cursors to mutate: a REST page, a GraphQL page, a status history (after a real move).
    const restPage = await fetch(`${ctx.gw.url}/api/v1/customers?limit=1`, { headers: { authorization: `Bearer ${writer.key}` } });
    const restCursor = ((await restPage.json()) as { next_cursor: string }).next_cursor;
    const gqlPage = await ctx.gw.gql(writer.key, '{ customers(first: 1) { pageInfo { endCursor } } }');
    const moved = await ctx.gw.gql(backOffice.key, `mutation { transitionKyc(id: "b-1", to: PENDING) { __typename } }`);
    expect(moved.body.data.transitionKyc.__typename).toBe('TransitionKycSuccess');
    const history = await ctx.gw.gql(backOffice.key, `{ customer(id: "b-1") { statusHistory(first: 1) { edges { cursor } } } }`);
    world = {
      writerKey: writer.key,
      readerKey: reader.key,
      backOfficeKey: backOffice.key,
      otherOrgKey: other.key,
      ids: [...a.map((c) => c.id), ...b.map((c) => c.id), 'crm-1', 'crm-2', 'b-1', 'b-2'],
      cursors: [
        restCursor,
        gqlPage.body.data.customers.pageInfo.endCursor,
        history.body.data.customer.statusHistory.edges[0].cursor,
        encodeEventCursor('1:1:', '1:1:', 1n, new Date()),
      ],
    };
    expect(world.cursors.every((c) => typeof c === 'string' && c.length > 0)).toBe(true);
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${RUNS} generated requests`, { timeout: 60_000 + RUNS * 100 }, async () => {
      const statuses = new Map<string, number>();
      const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
      let before = await tablesDigest(ctx.db);
      await fc.assert(
        fc.asyncProperty(fuzzRequest(world), async (req) => {
          const ans = await send(req);
          const after = await tablesDigest(ctx.db);
          const { problems, allowed, code } = judge(req, ans);
          problems.push(...changes(before, after, allowed));
          before = after;
          count(`${req.surface} ${ans.status}${code ? ` ${code}` : ''}`);
          expect(problems, describeExchange(req, ans)).toEqual([]);
        }),
        { seed, numRuns: RUNS },
      );
      const summary = [...statuses].sort(([a], [b]) => a.localeCompare(b));
      console.log(`fuzz ${dbKind} seed ${seed}: ${RUNS} requests\n${summary.map(([k, n]) => `  ${k}: ${n}`).join('\n')}`);
      // The generators must reach past the first checks: successes, field validation on both
      // surfaces, GraphQL input errors and stored-or-rejected writes all occur.
      const seen = (prefix: string) => summary.some(([k]) => k.startsWith(prefix));
      if (RUNS >= 300)
        for (const prefix of [
          'rest 200',
          'rest 422 validation_failed',
          'rest 404',
          'graphql 200',
          'graphql 200 BAD_USER_INPUT',
          'graphql 200 ValidationError',
        ]) {
          expect(seen(prefix), `${prefix} among ${summary.map(([k]) => k).join(', ')}`).toBe(true);
        }
    });
  }
});
