// REST compatibility route, write side (SPEC sections 4 and 6): the seed example verbatim,
// a contract test per status and error code, the match rules through REST, PATCH, and what
// a response may never contain. Every response is checked against the served OpenAPI document.
import { beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { connect } from 'node:net';
import { openDatabase } from '../src/db/client.js';
import { createLogger } from '../src/ops/logger.js';
import { createTestDatabase, dbKind, onPostgres } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { issueKey, startGateway, uniqueOrg } from './helpers/gateway.js';
import { OpenApiValidator, rest, type RestResult } from './helpers/rest.js';

describe(`REST write routes (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 6 });
  let api: OpenApiValidator;
  let key: string;
  let orgId: string;
  const seen: RestResult[] = [];

  const call = async (k: string | null, method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const res = await rest(ctx.gw.url, k, method, path, body, headers);
    seen.push(res);
    return res;
  };
  const post = (body: unknown, headers?: Record<string, string>, k: string | null = key) =>
    call(k, 'POST', '/api/v1/customers', body, headers);
  const patch = (id: string, body: unknown, headers?: Record<string, string>, k: string | null = key) =>
    call(k, 'PATCH', `/api/v1/customers/${encodeURIComponent(id)}`, body, headers);

  beforeAll(async () => {
    api = await OpenApiValidator.load(ctx.gw.url);
    ({ key, orgId } = await ctx.org([Scope.CustomersWrite, Scope.CustomersRead]));
  });

  it('the seed example works verbatim', async () => {
    const body = { externalId: 'crm-7741', fullName: 'Jane Doe', email: 'jane@example.com' };
    const first = await post(body, { 'Idempotency-Key': 'seed-1' });
    expect(first.status).toBe(201);
    api.check('POST', '/customers', first);
    expect(first.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      external_id: 'crm-7741',
      type: 'INDIVIDUAL',
      full_name: 'Jane Doe',
      email: 'jane@example.com',
      kyc_status: 'NOT_STARTED',
      kyc_started_at: null,
      kyc_completed_at: null,
      identity: null,
      aml: {
        status: 'NOT_SCREENED',
        screened_at: null,
        last_reviewed_at: null,
        flags: { pep: false, sanctions: false, adverse_media: false, terrorism: false },
      },
      added_via: 'INTEGRATION',
      created_at: expect.stringMatching(/Z$/),
      updated_at: expect.stringMatching(/Z$/),
    });
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const again = await post(body);
    expect(again.status).toBe(200);
    api.check('POST', '/customers', again);
    expect(again.body.id).toBe(first.body.id);

    const replay = await post(body, { 'Idempotency-Key': 'seed-1' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    api.check('POST', '/customers', replay);

    const different = await post({ ...body, fullName: 'Jane Q Doe' }, { 'Idempotency-Key': 'seed-1' });
    expect(different.status).toBe(409);
    expect(different.body.error.code).toBe('idempotency_conflict');
    api.check('POST', '/customers', different);
    expect(await ctx.db.prisma.customer.count({ where: { orgId, externalId: 'crm-7741' } })).toBe(1);
  });

  describe('one contract test per status and code', () => {
    it('400 invalid_request: not JSON, or not an object', async () => {
      for (const raw of ['{"fullName": ', '[1,2]', '"text"', 'null']) {
        const res = await post(raw);
        expect(res.status, raw).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
        api.check('POST', '/customers', res);
      }
    });

    it('401 unauthorized and 403 forbidden (details.required_scope)', async () => {
      const anon = await post({ fullName: 'A', email: 'a@example.com' }, {}, null);
      expect(anon.status).toBe(401);
      expect(anon.headers.get('www-authenticate')).toBe('Bearer');
      const { key: readOnly } = await ctx.org([Scope.CustomersRead]);
      const denied = await post({ fullName: 'A', email: 'a@example.com' }, {}, readOnly);
      expect(denied.status).toBe(403);
      expect(denied.body.error).toEqual({ code: 'forbidden', message: expect.any(String), details: { required_scope: 'customers:write' } });
      api.check('POST', '/customers', denied);
      const deniedPatch = await patch('crm-7741', { fullName: 'X' }, {}, readOnly);
      expect(deniedPatch.status).toBe(403);
    });

    it('404 not_found: PATCH of an unknown id', async () => {
      const res = await patch('00000000-0000-4000-8000-000000000000', { fullName: 'Nobody' });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
      api.check('PATCH', '/customers/{id}', res);
    });

    it('409 conflict with details.field when the email belongs to another customer', async () => {
      await post({ externalId: 'crm-a', fullName: 'A', email: 'owner-a@example.com' });
      await post({ externalId: 'crm-b', fullName: 'B', email: 'owner-b@example.com' });
      const res = await post({ externalId: 'crm-c', fullName: 'C', email: 'OWNER-A@example.com ' });
      expect(res.status).toBe(409);
      expect(res.body.error).toEqual({ code: 'conflict', message: expect.any(String), details: { field: 'email' } });
      api.check('POST', '/customers', res);
      const viaPatch = await patch('crm-b', { email: 'owner-a@example.com' });
      expect(viaPatch.status).toBe(409);
      expect(viaPatch.body.error.details).toEqual({ field: 'email' });
      expect(await ctx.db.prisma.customer.count({ where: { orgId, externalId: 'crm-c' } })).toBe(0);
    });

    it('413 payload_too_large over 64 KiB', async () => {
      const res = await post({ fullName: 'Big', email: 'big@example.com', pad: 'x'.repeat(70 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
      api.check('POST', '/customers', res);
    });

    it('415 unsupported_media_type for a write without Content-Type: application/json', async () => {
      const res = await post('{"fullName":"T","email":"t@example.com"}', { 'content-type': 'text/plain' });
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
      api.check('POST', '/customers', res);
      const charset = await post({ fullName: 'T', email: 't@example.com' }, { 'content-type': 'application/json; charset=utf-8' });
      expect(charset.status).toBe(201);
    });

    it('422 validation_failed lists every bad field at once (missing, too long, wrong type, bad format, unknown)', async () => {
      const res = await post({
        externalId: 'e'.repeat(256),
        fullName: '',
        email: 'not-an-email',
        type: 'COMPANY',
        phone: 12,
        risk: { isNewCustomer: 'yes', shoeSize: true },
        nickname: 'x',
      });
      expect(res.status).toBe(422);
      api.check('POST', '/customers', res);
      const fields = res.body.error.details.fields.map((f: { field: string }) => f.field).sort();
      expect(fields).toEqual(
        ['email', 'externalId', 'fullName', 'nickname', 'phone', 'risk.isNewCustomer', 'risk.shoeSize', 'type'].sort(),
      );
      for (const f of res.body.error.details.fields) expect(f.message).toEqual(expect.any(String));
      const missing = await post({});
      expect(missing.status).toBe(422);
      expect(missing.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(expect.arrayContaining(['fullName']));
      const badKey = await post({ fullName: 'K', email: 'k@example.com' }, { 'Idempotency-Key': 'k'.repeat(256) });
      expect(badKey.status).toBe(422);
      expect(badKey.body.error.details.fields).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
    });

    it('429 rate_limited with Retry-After and details {limit, window_seconds}', async () => {
      const { key: tight } = await ctx.org([Scope.CustomersRead], { perMinute: 2 });
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await call(tight, 'GET', '/api/v1/customers'));
      const limited = results[2]!;
      expect(results.slice(0, 2).map((r) => r.status)).toEqual([200, 200]);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.body.error).toEqual({ code: 'rate_limited', message: expect.any(String), details: { limit: 2, window_seconds: 60 } });
      api.check('GET', '/customers', limited);
    });

    it.runIf(onPostgres)('409 idempotency_in_progress with Retry-After: 1 while the first request still runs', async () => {
      const impatient = await startGateway(await ctx.t.openAnother(2), { env: { IDEMPOTENCY_WAIT_MS: '200' } });
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      ctx.gw.services.testHooks.insideWriteTransaction = async () => {
        delete ctx.gw.services.testHooks.insideWriteTransaction; // pause the first request only
        entered();
        await released;
      };
      try {
        const body = { fullName: 'Slow Rest', email: 'slow-rest@example.com' };
        const first = post(body, { 'Idempotency-Key': 'busy-rest' });
        await inside;
        const second = await rest(impatient.url, key, 'POST', '/api/v1/customers', body, { 'Idempotency-Key': 'busy-rest' });
        seen.push(second);
        expect(second.status).toBe(409);
        expect(second.headers.get('retry-after')).toBe('1');
        expect(second.body.error.code).toBe('idempotency_in_progress');
        api.check('POST', '/customers', second);
        release();
        expect((await first).status).toBe(201);
        const retried = await rest(impatient.url, key, 'POST', '/api/v1/customers', body, { 'Idempotency-Key': 'busy-rest' });
        expect(retried.status).toBe(201);
        expect(retried.headers.get('idempotent-replayed')).toBe('true');
      } finally {
        delete ctx.gw.services.testHooks.insideWriteTransaction;
        release();
        await impatient.close();
      }
    });

    it('500 internal_error: nothing internal in the answer, the request id finds the log entry', async () => {
      // A real failure, not a mock: a database whose event table has gone away.
      const broken = await createTestDatabase(2);
      const logged: string[] = [];
      const gw2 = await startGateway(broken.db, { log: createLogger('error', (line) => logged.push(line)) });
      try {
        const { key: k } = await issueKey(broken.db, uniqueOrg(), [Scope.CustomersWrite]);
        await broken.db.prisma.$executeRawUnsafe('DROP TABLE customer_events');
        const res = await rest(gw2.url, k, 'POST', '/api/v1/customers', { fullName: 'Err', email: 'err@example.com' });
        seen.push(res);
        expect(res.status).toBe(500);
        expect(res.body).toEqual({ error: { code: 'internal_error', message: expect.any(String), details: {} } });
        expect(JSON.stringify(res.body)).not.toMatch(/customer_events|relation|Prisma|\.ts:/i);
        const requestId = res.headers.get('x-request-id')!;
        expect(logged.some((l) => l.includes(requestId) && l.includes('customer_events'))).toBe(true);
        api.check('POST', '/customers', res);
        // GraphQL masks it the same way.
        const gql = await gw2.gql(k, 'mutation { upsertCustomer(input: { fullName: "Err", email: "err2@example.com" }) { __typename } }');
        expect(gql.body.errors?.[0]?.message).toBe('Unexpected error.');
        expect(gql.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
        expect(JSON.stringify(gql.body)).not.toMatch(/customer_events|relation|Prisma/i);
        // Nothing was written by the failed requests.
        expect(await broken.db.prisma.customer.count()).toBe(0);
      } finally {
        await gw2.close();
        await broken.close();
      }
    });

    it('a client that hangs up mid-body is not reported as a database failure', async () => {
      const lines: string[] = [];
      let gone!: () => void;
      const wentAway = new Promise<void>((r) => (gone = r));
      const gw3 = await startGateway(ctx.db, {
        log: createLogger('debug', (line) => {
          lines.push(line);
          if (/client went away|database unavailable|unexpected error/.test(line)) gone();
        }),
      });
      try {
        const socket = connect(gw3.server.port, '127.0.0.1');
        await new Promise<void>((r) => socket.once('connect', () => r()));
        socket.write(
          `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"fullName":`,
        );
        socket.resetAndDestroy();
        await wentAway;
        expect(lines.filter((l) => /database unavailable|unexpected error/.test(l))).toEqual([]);
      } finally {
        await gw3.close();
      }
    });

    it('503 unavailable with Retry-After when the database cannot be reached', async () => {
      const unreachable = await openDatabase({ kind: 'postgres', url: 'postgresql://postgres@127.0.0.1:1/none', poolSize: 1 });
      const down = await startGateway(unreachable);
      try {
        const res = await rest(down.url, key, 'GET', '/api/v1/customers');
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('1');
        expect(res.body).toEqual({ error: { code: 'unavailable', message: expect.any(String), details: {} } });
        seen.push(res);
        const gql = await down.gql(key, '{ viewer { scopes } }');
        expect(gql.status).toBe(503);
        expect(gql.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      } finally {
        await down.close();
        await unreachable.close();
      }
    });
  });

  describe('match rules through REST', () => {
    it('every row of the table', async () => {
      // no externalId, nothing matches → 201 CREATED
      const created = await post({ fullName: 'Row One', email: 'row1@example.com' });
      expect(created.status).toBe(201);
      // externalId given, nothing matches → 201 CREATED with it
      const withExt = await post({ externalId: 'row-2', fullName: 'Row Two', email: 'row2@example.com' });
      expect(withExt.status).toBe(201);
      expect(withExt.body.external_id).toBe('row-2');
      // externalId matches → 200 UPDATED
      const byExt = await post({ externalId: 'row-2', fullName: 'Row Two Updated', email: 'row2@example.com' });
      expect(byExt.status).toBe(200);
      expect(byExt.body).toMatchObject({ id: withExt.body.id, full_name: 'Row Two Updated' });
      // no externalId, email matches → 200 UPDATED (email compared trimmed, lower-cased)
      const byEmail = await post({ fullName: 'Row One Updated', email: '  ROW1@example.com' });
      expect(byEmail.status).toBe(200);
      expect(byEmail.body.id).toBe(created.body.id);
      // externalId given, a customer without one has the email → 200 ADOPTED
      const adopted = await post({ externalId: 'row-1', fullName: 'Row One', email: 'row1@example.com' });
      expect(adopted.status).toBe(200);
      expect(adopted.body).toMatchObject({ id: created.body.id, external_id: 'row-1' });
      // externalId given, a customer with a different externalId has the email → 409
      const conflict = await post({ externalId: 'row-3', fullName: 'Row Three', email: 'row2@example.com' });
      expect(conflict.status).toBe(409);
      expect(conflict.body.error.details.field).toBe('email');
      for (const r of [created, withExt, byExt, byEmail, adopted, conflict]) api.check('POST', '/customers', r);
    });
  });

  describe('PATCH /customers/{id}', () => {
    it('updates by UUID and by external id; fields left out stay as they were', async () => {
      const c = await post({ externalId: 'p-1', fullName: 'Pat One', email: 'pat1@example.com', phone: '+100' });
      const byUuid = await patch(c.body.id, { fullName: 'Pat Uno' });
      expect(byUuid.status).toBe(200);
      api.check('PATCH', '/customers/{id}', byUuid);
      expect(byUuid.body).toMatchObject({ full_name: 'Pat Uno', email: 'pat1@example.com', external_id: 'p-1' });
      const byExt = await patch('p-1', { email: 'pat.one@example.com' });
      expect(byExt.status).toBe(200);
      expect(byExt.body).toMatchObject({ id: c.body.id, full_name: 'Pat Uno', email: 'pat.one@example.com' });
      const row = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: c.body.id } });
      expect(row.phone).toBe('+100');
    });

    it('rejects type, externalId and status fields with 422, each named', async () => {
      const res = await patch('p-1', { type: 'SOLE_TRADER', externalId: 'p-9', kycStatus: 'VERIFIED', amlStatus: 'CLEAR' });
      expect(res.status).toBe(422);
      api.check('PATCH', '/customers/{id}', res);
      expect(res.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
        'amlStatus',
        'externalId',
        'kycStatus',
        'type',
      ]);
    });

    it('frozen identity: a VERIFIED customer keeps its name and email (422), the same values are accepted', async () => {
      const c = await post({ externalId: 'v-1', fullName: 'Vera Verified', email: 'vera@example.com' });
      await ctx.db.prisma.customer.update({
        where: { id: c.body.id },
        data: { kycStatus: 'VERIFIED', verifiedLegalName: 'Vera V', verifiedCountry: 'NLD' },
      });
      const rename = await patch('v-1', { fullName: 'Vera Changed', email: 'vera2@example.com' });
      expect(rename.status).toBe(422);
      expect(rename.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['email', 'fullName']);
      api.check('PATCH', '/customers/{id}', rename);
      const same = await patch('v-1', { fullName: 'Vera Verified', email: 'vera@example.com', phone: '+31' });
      expect(same.status).toBe(200);
      expect(same.body.identity).toEqual({ verified_legal_name: 'Vera V', verified_country: 'NLD' });
      const viaPost = await post({ externalId: 'v-1', fullName: 'Vera Other', email: 'vera@example.com' });
      expect(viaPost.status).toBe(422);
    });

    it("another organisation's id is 404, and its customer is unchanged", async () => {
      const c = await post({ externalId: 'mine-1', fullName: 'Mine', email: 'mine@example.com' });
      const { key: otherKey } = await ctx.org([Scope.CustomersWrite]);
      for (const id of [c.body.id, 'mine-1']) {
        const res = await patch(id, { fullName: 'Stolen' }, {}, otherKey);
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe('not_found');
      }
      expect((await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: c.body.id } })).fullName).toBe('Mine');
    });

    it('Idempotency-Key on PATCH is scoped to the id', async () => {
      const a = await post({ externalId: 'ik-a', fullName: 'Ik A', email: 'ika@example.com' });
      const b = await post({ externalId: 'ik-b', fullName: 'Ik B', email: 'ikb@example.com' });
      const first = await patch(a.body.id, { fullName: 'Ik A2' }, { 'Idempotency-Key': 'same' });
      const replay = await patch(a.body.id, { fullName: 'Ik A2' }, { 'Idempotency-Key': 'same' });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
      const other = await patch(b.body.id, { fullName: 'Ik B2' }, { 'Idempotency-Key': 'same' });
      expect(other.status).toBe(200);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      expect(other.body.full_name).toBe('Ik B2');
    });
  });

  it('no response ever contains a stack trace, SQL, phone, risk answers or internal ids', () => {
    expect(seen.length).toBeGreaterThan(30);
    for (const res of seen) {
      const text = JSON.stringify(res.body);
      // Naming a bad input field in a 422 is not a leak; a value or a response key would be.
      const withoutFieldNames = JSON.stringify(res.body, (k, v) => (k === 'fields' ? undefined : v));
      expect(withoutFieldNames).not.toMatch(/"phone"|"risk"|"org_?id"/i);
      for (const leak of [/\bat \S+ \(/, /\.ts:\d+/, /SELECT|INSERT|UPDATE .* SET/, /prisma/i, /\+100|\+31/, new RegExp(orgId)]) {
        expect(text, text.slice(0, 200)).not.toMatch(leak);
      }
      expect(res.headers.get('x-request-id')).toMatch(/\S+/);
    }
  });
});
