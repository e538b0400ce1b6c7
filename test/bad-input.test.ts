// SPEC section 9, one readable test per class of bad input found by fuzzing (issue 9): each
// request gets a 4xx in its surface's envelope (REST 422 validation_failed naming the field;
// GraphQL a ValidationError member or an error with extensions.code), never a 500, and
// changes nothing in the database.
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { encodeEventCursor } from '../src/events/snapshot.js';
import { maskError } from '../src/graphql/yoga.js';
import { encodeCursor } from '../src/lib/cursor.js';
import { seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { tablesDigest } from './helpers/digest.js';
import { useGateway, type OrgKey } from './helpers/fixture.js';
import { rest, type RestResult } from './helpers/rest.js';
import { Clients } from './helpers/subscriptions.js';

const ctx = useGateway();

const NUL = '\u0000';
const HIGH = '\ud800';
const LOW = '\udc00';
const UUID = '0b0e7a52-3c8e-4a57-9d2c-5d3c4b9b2f10';
const LONG_ID = 'x'.repeat(300);

type Gql = { status: number; body: { data?: any; errors?: any[] }; headers: Headers };

let writer: OrgKey;
let backOffice: OrgKey;
let existingId: string;
let inProgressId: string;
let validPosition: string;
const clients = new Clients();

beforeAll(async () => {
  writer = await ctx.org([Scope.CustomersRead, Scope.CustomersWrite, Scope.AmlRead]);
  backOffice = await ctx.org([Scope.CustomersRead, Scope.ComplianceWrite]);
  existingId = (await seedCustomer(ctx.db, writer.orgId, { externalId: 'crm-existing' })).id;
  await seedCustomer(ctx.db, writer.orgId);
  await seedCustomer(ctx.db, writer.orgId);
  inProgressId = (await seedCustomer(ctx.db, backOffice.orgId, { kycStatus: 'IN_PROGRESS' })).id;
  await seedCustomer(ctx.db, backOffice.orgId, { kycStatus: 'VERIFIED', verifiedLegalName: 'V', verifiedCountry: 'GBR' });
  const page = await api('GET', '/customers?limit=1');
  expect(page.status).toBe(200);
  validPosition = JSON.parse(Buffer.from(page.body.next_cursor, 'base64url').toString('utf8')).p;
});
afterAll(() => clients.closeAll());

function api(method: string, path: string, body?: unknown, headers?: Record<string, string>, key = writer.key): Promise<RestResult> {
  return rest(ctx.gw.url, key, method, `/api/v1${path}`, body, headers);
}

function gql(query: string, variables?: Record<string, unknown>, key = writer.key): Promise<Gql> {
  return ctx.gw.gql(key, query, variables);
}

/** Runs a request and asserts that it changed nothing (customers, events, idempotency keys). */
async function unchanged<T>(request: () => Promise<T>): Promise<T> {
  const before = await tablesDigest(ctx.db);
  const result = await request();
  expect(await tablesDigest(ctx.db)).toEqual(before);
  return result;
}

/** 422 validation_failed naming exactly these fields (in any order), X-Request-Id set. */
function expect422(res: RestResult, fields: string[]): void {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  expect(res.headers.get('x-request-id')).toMatch(/\S/);
  expect(res.body.error.code).toBe('validation_failed');
  expect(res.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([...fields].sort());
}

/** A GraphQL answer whose only error is BAD_USER_INPUT naming `field` (when given). */
function expectBadUserInput(res: Gql, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
  expect(res.body.errors, JSON.stringify(res.body)).toHaveLength(1);
  const error = res.body.errors![0];
  expect(error.extensions.code, JSON.stringify(error)).toBe('BAD_USER_INPUT');
  if (field) expect(error.extensions.fieldErrors.map((f: { field: string }) => f.field)).toContain(field);
}

function expectValidationError(payload: any, fields: string[]): void {
  expect(payload.__typename, JSON.stringify(payload)).toBe('ValidationError');
  expect(payload.code).toBe('validation_failed');
  expect(payload.fieldErrors.map((f: { field: string }) => f.field).sort()).toEqual([...fields].sort());
}

const UPSERT = `mutation($input: UpsertCustomerInput!, $key: String) {
  upsertCustomer(input: $input, idempotencyKey: $key) { __typename ... on Error { code message } ... on ValidationError { fieldErrors { field message } } }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateCustomerInput!, $key: String) {
  updateCustomer(id: $id, input: $input, idempotencyKey: $key) { __typename ... on Error { code message } ... on ValidationError { fieldErrors { field message } } }
}`;
const TRANSITION = `mutation($id: ID!, $to: KycStatus!, $identity: VerifiedIdentityInput) {
  transitionKyc(id: $id, to: $to, identity: $identity) { __typename ... on Error { code message } ... on ValidationError { fieldErrors { field message } } }
}`;
const SCREEN = `mutation($id: ID!) {
  recordAmlScreening(id: $id, status: IN_PROGRESS) { __typename ... on Error { code message } ... on ValidationError { fieldErrors { field message } } }
}`;
const CUSTOMER = `query($id: ID!) { customer(id: $id) { id } }`;
const CUSTOMER_AML = `query($id: ID!) { customerAml(id: $id) { status } }`;
const CUSTOMERS = `query($filter: CustomerFilter, $after: String, $first: Int) {
  customers(filter: $filter, after: $after, first: $first) { edges { node { id } } }
}`;
const STATS = `query($filter: CustomerFilter) { customerStats(filter: $filter) { total } }`;
const HISTORY = `query($id: ID!, $after: String) { customer(id: $id) { statusHistory(first: 2, after: $after) { edges { cursor } } } }`;

const valid = { fullName: 'Ada Lovelace', email: 'ada@example.com' };

describe(`bad input (${dbKind})`, () => {
  describe('NUL characters (PostgreSQL 22021)', () => {
    it('REST: in body fields, path ids and list filters → 422 naming each field', async () => {
      await unchanged(async () => {
        const body = { externalId: `e${NUL}`, fullName: `A${NUL}a`, email: `a${NUL}@example.com`, phone: `+44${NUL}1` };
        expect422(await api('POST', '/customers', body), ['externalId', 'fullName', 'email', 'phone']);
        expect422(await api('PATCH', `/customers/${existingId}`, { fullName: `B${NUL}` }), ['fullName']);
        expect422(await api('GET', '/customers/a%00b'), ['id']);
        expect422(await api('GET', '/customers/a%00b/aml'), ['id']);
        expect422(await api('PATCH', '/customers/a%00b', { fullName: 'Bob' }, { 'Idempotency-Key': 'k-nul-path' }), ['id']);
        expect422(await api('GET', '/customers?external_id=a%00'), ['external_id']);
      });
    });

    it('GraphQL mutations: ValidationError naming the input field, the id and the idempotency key', async () => {
      await unchanged(async () => {
        const up = await gql(UPSERT, { input: { ...valid, fullName: `A${NUL}`, externalId: NUL }, key: `k${NUL}` });
        expectValidationError(up.body.data.upsertCustomer, ['fullName', 'externalId', 'idempotencyKey']);
        const patch = await gql(UPDATE, { id: `a${NUL}`, input: { phone: `1${NUL}` }, key: 'k-nul' });
        expectValidationError(patch.body.data.updateCustomer, ['id', 'phone']);
        const move = await gql(TRANSITION, { id: `a${NUL}`, to: 'PENDING' }, backOffice.key);
        expectValidationError(move.body.data.transitionKyc, ['id']);
        const verify = await gql(
          TRANSITION,
          { id: inProgressId, to: 'VERIFIED', identity: { legalName: `A${NUL}`, country: 'GBR' } },
          backOffice.key,
        );
        expectValidationError(verify.body.data.transitionKyc, ['identity.legalName']);
        const screen = await gql(SCREEN, { id: `${NUL}` }, backOffice.key);
        expectValidationError(screen.body.data.recordAmlScreening, ['id']);
      });
    });

    it('GraphQL arguments: BAD_USER_INPUT naming the argument (ids, search, externalId)', async () => {
      await unchanged(async () => {
        expectBadUserInput(await gql(CUSTOMER, { id: `a${NUL}` }), 'id');
        expectBadUserInput(await gql(CUSTOMER_AML, { id: NUL }), 'id');
        expectBadUserInput(await gql(CUSTOMERS, { filter: { search: `a${NUL}` } }), 'filter.search');
        expectBadUserInput(await gql(CUSTOMERS, { filter: { externalId: NUL } }), 'filter.externalId');
        expectBadUserInput(await gql(STATS, { filter: { search: NUL } }), 'filter.search');
        // A literal in the document, not a variable.
        expectBadUserInput(await gql(`{ customer(id: "\\u0000") { id } }`), 'id');
      });
    });

    it('the status subscription filter: BAD_USER_INPUT naming the filter field', async () => {
      const client = clients.ws(ctx.gw.url, writer.key);
      const after = encodeEventCursor('1:1:', '1:1:', 1n, new Date());
      const byId = clients.subscribe(client, { filter: { customerIds: [`a${NUL}`] }, after });
      const byExternal = clients.subscribe(client, { filter: { externalIds: ['ok', `${HIGH}`] } });
      await Promise.all([byId.ended.promise, byExternal.ended.promise]);
      expect(byId.results[0]!.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        fieldErrors: [{ field: 'filter.customerIds' }],
      });
      expect(byExternal.results[0]!.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        fieldErrors: [{ field: 'filter.externalIds' }],
      });
    });
  });

  describe('lone UTF-16 surrogates (jsonb 22P02; text columns would store U+FFFD)', () => {
    it('REST: 422 naming the field, in writes and in filters', async () => {
      await unchanged(async () => {
        expect422(await api('POST', '/customers', { ...valid, fullName: `Ada ${HIGH}` }), ['fullName']);
        expect422(await api('POST', '/customers', { ...valid, externalId: `x${LOW}y` }), ['externalId']);
        expect422(await api('PATCH', '/customers/crm-existing', { email: `${LOW}${HIGH}@example.com` }), ['email']);
        // Percent-encoded UTF-8 of a surrogate is not UTF-8: the path names no resource.
        const path = await api('GET', '/customers/%ED%A0%80');
        expect(path.status).toBe(404);
        expect(path.body.error.code).toBe('not_found');
      });
    });

    it('GraphQL: ValidationError in writes, BAD_USER_INPUT in arguments', async () => {
      await unchanged(async () => {
        const up = await gql(UPSERT, { input: { ...valid, fullName: HIGH } });
        expectValidationError(up.body.data.upsertCustomer, ['fullName']);
        expectBadUserInput(await gql(CUSTOMERS, { filter: { search: `${LOW}` } }), 'filter.search');
        expectBadUserInput(await gql(CUSTOMER, { id: `a${HIGH}` }), 'id');
      });
    });

    it('a well-formed astral character is text like any other, counted as one character', async () => {
      const fullName = '𝔄'.repeat(255);
      const res = await api('POST', '/customers', { fullName, email: 'astral@example.com' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.full_name).toBe(fullName);
      const row = await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: res.body.id } });
      expect(row.fullName).toBe(fullName);
    });
  });

  describe('keys named like built-in object properties', () => {
    it('REST bodies: __proto__, constructor, toString, hasOwnProperty (also inside risk) are unknown fields', async () => {
      await unchanged(async () => {
        const raw = `{"fullName":"Ada","email":"ada@example.com","__proto__":{"x":1},"constructor":1,"toString":"x","hasOwnProperty":null,
          "risk":{"__proto__":true,"toString":true,"isNewCustomer":true}}`;
        expect422(await api('POST', '/customers', raw), [
          '__proto__',
          'constructor',
          'toString',
          'hasOwnProperty',
          'risk.__proto__',
          'risk.toString',
        ]);
        expect422(await api('PATCH', `/customers/${existingId}`, '{"constructor":{"prototype":1},"valueOf":2}'), [
          'constructor',
          'valueOf',
        ]);
      });
    });

    it('REST list: status=toString and aml_status=constructor are not statuses', async () => {
      expect422(await api('GET', '/customers?status=toString'), ['status']);
      expect422(await api('GET', '/customers?status=PENDING,__proto__&aml_status=constructor'), ['status', 'aml_status']);
    });

    it('GraphQL inputs: unknown fields are refused with a code', async () => {
      const res = await gql(UPSERT, { input: { ...valid, constructor: 1 } });
      expect(res.status).toBeLessThan(500);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('ids longer than any customer id or external id', () => {
    it('REST: 404 not_found, and a PATCH with an Idempotency-Key stores nothing', async () => {
      await unchanged(async () => {
        const patch = await api('PATCH', `/customers/${LONG_ID}`, { fullName: 'Bob' }, { 'Idempotency-Key': 'k-long' });
        expect(patch.status, JSON.stringify(patch.body)).toBe(404);
        expect(patch.body.error.code).toBe('not_found');
        expect((await api('GET', `/customers/${LONG_ID}`)).status).toBe(404);
        expect((await api('GET', `/customers/${LONG_ID}/aml`)).status).toBe(404);
      });
    });

    it('GraphQL: null for lookups, CustomerNotFoundError for writes', async () => {
      await unchanged(async () => {
        const patch = await gql(UPDATE, { id: LONG_ID, input: { fullName: 'Bob' }, key: 'k-long' });
        expect(patch.body.data.updateCustomer.__typename).toBe('CustomerNotFoundError');
        const move = await gql(TRANSITION, { id: LONG_ID, to: 'PENDING' }, backOffice.key);
        expect(move.body.data.transitionKyc.__typename).toBe('CustomerNotFoundError');
        const read = await gql(CUSTOMER, { id: LONG_ID });
        expect(read.body).toEqual({ data: { customer: null } });
      });
    });
  });

  describe('filter text longer than anything it could match', () => {
    it('REST external_id and GraphQL search / externalId over 255 characters are refused, not sent', async () => {
      expect422(await api('GET', `/customers?external_id=${LONG_ID}`), ['external_id']);
      // 1,000 characters: over the filter bound, well under the 64 KiB body limit (which refuses bigger documents first).
      expectBadUserInput(await gql(CUSTOMERS, { filter: { search: 'a'.repeat(1000) } }), 'filter.search');
      expectBadUserInput(await gql(STATS, { filter: { externalId: LONG_ID } }), 'filter.externalId');
      // 255 characters (astral ones count once) are a filter like any other.
      const edge = await api('GET', `/customers?external_id=${encodeURIComponent('𝔄'.repeat(255))}`);
      expect(edge.status).toBe(200);
    });
  });

  describe('forged cursors', () => {
    const position = (t: string, extra: Record<string, unknown> = {}) => encodeCursor({ o: 'CREATED_AT:ASC', t, i: UUID, ...extra });

    it('REST: a cursor whose embedded filters or position are garbage → 422 cursor', async () => {
      const forged = [
        { p: validPosition, f: { status: 'toString' } },
        { p: validPosition, f: { status: ['NOPE'] } },
        { p: validPosition, f: { status: [] } },
        { p: validPosition, f: { aml_status: [1] } },
        { p: validPosition, f: { updated_since: 'yesterday' } },
        { p: validPosition, f: { updated_since: '0000-01-01T00:00:00.000Z' } },
        { p: validPosition, f: { external_id: 5 } },
        { p: validPosition, f: { external_id: `a${NUL}` } },
        { p: validPosition, f: { unknown: 'x' } },
        { p: validPosition, f: [] },
        { p: position('0000-01-01T00:00:00.000Z'), f: {} },
        { p: position('+275760-09-13T00:00:00.000Z'), f: {} },
        { p: position('2026-02-30T00:00:00.000Z'), f: {} },
        { p: encodeCursor({ o: 'CREATED_AT:ASC', t: '2026-01-01T00:00:00.000Z', i: 'not-a-uuid' }), f: {} },
        { p: 'x', f: {} },
      ];
      for (const c of forged) {
        const res = await api('GET', `/customers?cursor=${encodeCursor(c)}`);
        expect422(res, ['cursor']);
      }
    });

    it('GraphQL: positions with dates PostgreSQL cannot store, history ids beyond bigint → BAD_USER_INPUT', async () => {
      expectBadUserInput(await gql(CUSTOMERS, { after: position('0000-01-01T00:00:00.000Z') }));
      expectBadUserInput(await gql(CUSTOMERS, { after: position('-000001-01-01T00:00:00.000Z') }));
      for (const h of ['9223372036854775808', '99999999999999999999', '-1']) {
        const res = await gql(HISTORY, { id: existingId, after: encodeCursor({ h }) });
        expect(res.body.errors?.[0]?.extensions?.code, JSON.stringify(res.body)).toBe('BAD_USER_INPUT');
      }
      // The largest bigint is a valid (empty) position.
      const max = await gql(HISTORY, { id: existingId, after: encodeCursor({ h: '9223372036854775807' }) });
      expect(max.body.errors).toBeUndefined();
    });

    it('subscription cursors: snapshot xids and event ids beyond their types, or a bad time → BAD_USER_INPUT', async () => {
      const big = '99999999999999999999';
      const forged = [
        encodeCursor({ p: `${big}:${big}:`, c: `${big}:${big}:`, i: '1', t: Date.now() }),
        encodeCursor({ p: '9223372036854775808:9223372036854775808:', c: '1:1:', i: '1', t: Date.now() }),
        encodeCursor({ p: '1:1:', c: '1:1:', i: big, t: Date.now() }),
        encodeCursor({ p: '10:20:5', c: '10:20:', i: '1', t: Date.now() }),
        encodeCursor({ p: '0:0:', c: '1:1:', i: '1', t: Date.now() }),
        encodeCursor({ p: '1:1:', c: '1:1:', i: '1', t: 1e300 }),
        encodeCursor({ p: '1:1:', c: '1:1:', i: '1', t: 1.5 }),
      ];
      const client = clients.ws(ctx.gw.url, writer.key);
      const subs = forged.map((after) => clients.subscribe(client, { after }));
      await Promise.all(subs.map((s) => s.ended.promise));
      for (const s of subs) expect(s.results[0]!.errors?.[0]?.extensions?.code, JSON.stringify(s.results)).toBe('BAD_USER_INPUT');
    });
  });

  describe('dates outside what PostgreSQL stores', () => {
    it('REST updated_since: year 0, an offset that crosses into year 0, impossible dates → 422; the bounds are accepted', async () => {
      for (const since of [
        '0000-01-01',
        '0001-01-01T00:00:00+01:00',
        '2026-02-30',
        '+275760-01-01',
        '10000-01-01',
        '2026-01-01T24:00:00Z',
      ]) {
        expect422(await api('GET', `/customers?updated_since=${encodeURIComponent(since)}`), ['updated_since']);
      }
      for (const since of ['0001-01-01', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2026-01-01T10:00:00+02:00']) {
        const res = await api('GET', `/customers?updated_since=${encodeURIComponent(since)}`);
        expect(res.status, `${since}: ${JSON.stringify(res.body)}`).toBe(200);
      }
    });

    it('GraphQL DateTime: year 0 as a variable and as a literal → BAD_USER_INPUT', async () => {
      const asVariable = await gql(CUSTOMERS, { filter: { updatedSince: '0000-01-01T00:00:00Z' } });
      expect(asVariable.body.errors?.[0]?.extensions?.code, JSON.stringify(asVariable.body)).toBe('BAD_USER_INPUT');
      const asLiteral = await gql(`{ customers(filter: { updatedSince: "0000-01-01" }) { edges { cursor } } }`);
      expect(asLiteral.body.errors?.[0]?.extensions?.code, JSON.stringify(asLiteral.body)).toBe('BAD_USER_INPUT');
      const bound = await gql(CUSTOMERS, { filter: { updatedSince: '9999-12-31T23:59:59.999Z' } });
      expect(bound.body.errors).toBeUndefined();
    });
  });

  describe('every GraphQL error carries extensions.code', () => {
    it('GET /graphql with variables or extensions that are not JSON → 400 BAD_REQUEST', async () => {
      for (const params of ['variables=x', 'extensions=%7B', 'variables=%5B1%5D']) {
        const res = await fetch(`${ctx.gw.url}/graphql?query=${encodeURIComponent('{ viewer { scopes } }')}&${params}`, {
          headers: { authorization: `Bearer ${writer.key}`, accept: 'application/json' },
        });
        expect(res.status, params).toBe(400);
        expect(res.headers.get('x-request-id')).toMatch(/\S/);
        const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
        expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
      }
    });

    it('variable coercion errors are BAD_USER_INPUT', async () => {
      for (const variables of [{ first: 'x' }, { first: 2 ** 40 }, { filter: { kycStatus: ['NOPE'] } }, { filter: 'x' }]) {
        const res = await gql(CUSTOMERS, variables);
        expect(res.status).toBeLessThan(500);
        expect(res.body.errors?.length, JSON.stringify(res.body)).toBeGreaterThan(0);
        for (const e of res.body.errors!) expect(e.extensions?.code, JSON.stringify(e)).toBe('BAD_USER_INPUT');
      }
      const missing = await gql(CUSTOMER, {});
      expect(missing.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('parse, validation and operation-selection errors carry their codes', async () => {
      const parse = await gql('{ customers(');
      expect(parse.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
      const validation = await gql('{ customers { nope } }');
      expect(validation.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const res = await fetch(`${ctx.gw.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${writer.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query A { viewer { scopes } } query B { viewer { scopes } }', operationName: 'C' }),
      });
      const body = (await res.json()) as { errors: { extensions?: { code?: string } }[] };
      expect(res.status).toBeLessThan(500);
      expect(body.errors[0]!.extensions?.code).toMatch(/\S/);
    });

    it('a body GraphQL cannot read (text/plain, multipart) → 4xx with a coded error', async () => {
      for (const contentType of ['text/plain', 'multipart/form-data; boundary=x']) {
        const res = await fetch(`${ctx.gw.url}/graphql`, {
          method: 'POST',
          headers: { authorization: `Bearer ${writer.key}`, 'content-type': contentType },
          body: '--x--',
        });
        expect(res.status, contentType).toBeGreaterThanOrEqual(400);
        expect(res.status, contentType).toBeLessThan(500);
        const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
        expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
      }
    });

    it('an uncoded error raised while resolving a field is ours: masked as INTERNAL_SERVER_ERROR', () => {
      const own = maskError(ctx.gw.services, new GraphQLError('Enum "X" cannot represent value', { path: ['customer', 'type'] }));
      expect(own.message).toBe('Unexpected error.');
      expect(own.extensions.code).toBe('INTERNAL_SERVER_ERROR');
      const request = maskError(ctx.gw.services, new GraphQLError('Variable "$first" got invalid value "x"'));
      expect(request.extensions.code).toBe('BAD_USER_INPUT');
    });
  });
});
