// REST compatibility route, read side (SPEC section 6): authentication and scopes, lookups by
// UUID or external id, organisation isolation, the list envelope, filters, sticky cursors,
// the error envelope; every response checked against the served OpenAPI document.
import { beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import type { Customer } from '../src/generated/prisma/client.js';
import { seedCustomer } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import { uniqueOrg } from './helpers/gateway.js';
import { OpenApiValidator, rest, type RestResult } from './helpers/rest.js';

describe(`REST read routes (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 4 });
  let api: OpenApiValidator;
  let key: string;
  let orgId: string;
  let amlOnly: string;
  let otherOrgKey: string;
  let alice: Customer;
  const get = (k: string | null, path: string) => rest(ctx.gw.url, k, 'GET', path);

  beforeAll(async () => {
    api = await OpenApiValidator.load(ctx.gw.url);
    const org = uniqueOrg();
    ({ key, orgId } = await ctx.keyFor(org, [Scope.CustomersRead]));
    ({ key: amlOnly } = await ctx.keyFor(org, [Scope.AmlRead]));
    ({ key: otherOrgKey } = await ctx.org([Scope.CustomersRead, Scope.AmlRead]));
    alice = await seedCustomer(ctx.db, orgId, {
      externalId: 'crm-alice',
      fullName: 'Alice Example',
      email: 'alice@example.com',
      phone: '+441234567',
      riskIsNewCustomer: true,
      kycStatus: 'VERIFIED',
      verifiedLegalName: 'Alice Q Example',
      verifiedCountry: 'GBR',
      amlStatus: 'NEEDS_REVIEW',
      amlPep: true,
      amlScreenedAt: new Date('2026-02-01T10:00:00Z'),
    });
  });

  it('GET /customers/{id} by UUID and by external_id returns the documented shape', async () => {
    for (const id of [alice.id, 'crm-alice']) {
      const res = await get(key, `/api/v1/customers/${id}`);
      expect(res.status).toBe(200);
      api.check('GET', '/customers/{id}', res);
      expect(res.body).toEqual({
        id: alice.id,
        external_id: 'crm-alice',
        type: 'INDIVIDUAL',
        full_name: 'Alice Example',
        email: 'alice@example.com',
        kyc_status: 'VERIFIED',
        kyc_started_at: null,
        kyc_completed_at: null,
        identity: { verified_legal_name: 'Alice Q Example', verified_country: 'GBR' },
        aml: {
          status: 'NEEDS_REVIEW',
          screened_at: '2026-02-01T10:00:00.000Z',
          last_reviewed_at: null,
          flags: { pep: true, sanctions: false, adverse_media: false, terrorism: false },
        },
        added_via: 'INTEGRATION',
        created_at: alice.createdAt.toISOString(),
        updated_at: alice.updatedAt.toISOString(),
      });
    }
  });

  it('never returns phone, risk answers or internal ids', async () => {
    const res = await get(key, `/api/v1/customers/${alice.id}`);
    const text = JSON.stringify(res.body);
    for (const leak of ['+441234567', 'phone', 'risk', 'org_id', orgId, 'email_key']) expect(text).not.toContain(leak);
  });

  it('GET /customers/{id}/aml needs aml:read and returns the AML block only', async () => {
    const res = await get(amlOnly, '/api/v1/customers/crm-alice/aml');
    expect(res.status).toBe(200);
    api.check('GET', '/customers/{id}/aml', res);
    expect(res.body).toEqual({
      status: 'NEEDS_REVIEW',
      screened_at: '2026-02-01T10:00:00.000Z',
      last_reviewed_at: null,
      flags: { pep: true, sanctions: false, adverse_media: false, terrorism: false },
    });
    const denied = await get(key, '/api/v1/customers/crm-alice/aml');
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ error: { code: 'forbidden', message: expect.any(String), details: { required_scope: 'aml:read' } } });
    api.check('GET', '/customers/{id}/aml', denied);
    const amlKeyReadingCustomer = await get(amlOnly, '/api/v1/customers/crm-alice');
    expect(amlKeyReadingCustomer.status).toBe(403);
    expect(amlKeyReadingCustomer.body.error.details).toEqual({ required_scope: 'customers:read' });
  });

  it("404 not_found for a missing customer and for another organisation's, alike", async () => {
    const missing = await get(key, '/api/v1/customers/00000000-0000-4000-8000-000000000000');
    const foreign = await get(otherOrgKey, `/api/v1/customers/${alice.id}`);
    const foreignExt = await get(otherOrgKey, '/api/v1/customers/crm-alice');
    const foreignAml = await get(otherOrgKey, '/api/v1/customers/crm-alice/aml');
    for (const res of [missing, foreign, foreignExt, foreignAml]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect(foreign.body).toEqual(missing.body);
    api.check('GET', '/customers/{id}', missing);
  });

  it('401 unauthorized with WWW-Authenticate for a missing, malformed, unknown or revoked key', async () => {
    const cases: Promise<RestResult>[] = [
      get(null, '/api/v1/customers'),
      rest(ctx.gw.url, null, 'GET', '/api/v1/customers', undefined, { authorization: 'Basic abc' }),
      get('ic_live_unknownunknownunknownunknownunknown12', '/api/v1/customers'),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body.error.code).toBe('unauthorized');
      api.check('GET', '/customers', res);
    }
  });

  it('unknown routes are 404 not_found in the envelope, and every response has X-Request-Id', async () => {
    const res = await get(key, '/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String), details: {} } });
    expect(res.headers.get('x-request-id')).toMatch(/\S+/);
    const outside = await get(key, '/nowhere');
    expect(outside.status).toBe(404);
    expect(outside.body).toEqual({ error: { code: 'not_found', message: expect.any(String), details: {} } });
    expect(outside.headers.get('x-request-id')).toMatch(/\S+/);
    const given = await rest(ctx.gw.url, key, 'GET', '/api/v1/customers', undefined, { 'x-request-id': 'trace-123' });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
  });

  describe('GET /customers', () => {
    let o: string;
    let k: string;
    const created: Customer[] = [];
    beforeAll(async () => {
      ({ key: k, orgId: o } = await ctx.org([Scope.CustomersRead]));
      const base = Date.parse('2026-03-01T00:00:00Z');
      for (let i = 0; i < 6; i++) {
        created.push(
          await seedCustomer(ctx.db, o, {
            externalId: `l-${i}`,
            kycStatus: i < 3 ? 'PENDING' : 'NOT_STARTED',
            amlStatus: i === 5 ? 'CLEAR' : 'NOT_SCREENED',
            createdAt: new Date(base + i * 1000),
            updatedAt: new Date(base + i * 1000),
          }),
        );
      }
    });
    const ext = (res: RestResult) => res.body.data.map((c: any) => c.external_id);

    it('returns the list envelope, oldest first; total_count only when asked for', async () => {
      const res = await get(k, '/api/v1/customers?limit=4');
      expect(res.status).toBe(200);
      api.check('GET', '/customers', res);
      expect(res.body).toMatchObject({ object: 'list', has_more: true, limit: 4 });
      expect(Object.keys(res.body).sort()).toEqual(['data', 'has_more', 'limit', 'next_cursor', 'object']);
      expect(ext(res)).toEqual(['l-0', 'l-1', 'l-2', 'l-3']);
      const withTotal = await get(k, '/api/v1/customers?include=total_count&limit=2');
      api.check('GET', '/customers', withTotal);
      expect(withTotal.body.total_count).toBe(6);
      const rest2 = await get(k, `/api/v1/customers?cursor=${res.body.next_cursor}`);
      expect(ext(rest2)).toEqual(['l-4', 'l-5']);
      expect(rest2.body).toMatchObject({ has_more: false, next_cursor: null, limit: 50 });
    });

    it('filters by status, aml_status, external_id and updated_since (strictly after)', async () => {
      expect(ext(await get(k, '/api/v1/customers?status=PENDING'))).toEqual(['l-0', 'l-1', 'l-2']);
      expect(ext(await get(k, '/api/v1/customers?status=PENDING,NOT_STARTED&aml_status=CLEAR'))).toEqual(['l-5']);
      expect(ext(await get(k, '/api/v1/customers?external_id=l-3'))).toEqual(['l-3']);
      const since = created[3]!.updatedAt.toISOString();
      expect(ext(await get(k, `/api/v1/customers?updated_since=${since}`))).toEqual(['l-4', 'l-5']);
    });

    it('a cursor keeps the filters of the first page', async () => {
      const first = await get(k, '/api/v1/customers?status=PENDING&limit=2');
      expect(ext(first)).toEqual(['l-0', 'l-1']);
      // The filter is not repeated (and a different one is ignored): the cursor carries it.
      const second = await get(k, `/api/v1/customers?cursor=${first.body.next_cursor}&status=NOT_STARTED`);
      expect(ext(second)).toEqual(['l-2']);
      expect(second.body.has_more).toBe(false);
    });

    it('422 validation_failed lists every bad parameter at once', async () => {
      const res = await get(k, '/api/v1/customers?limit=0&status=DONE&updated_since=yesterday&cursor=zzz');
      expect(res.status).toBe(422);
      api.check('GET', '/customers', res);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.fields.map((f: any) => f.field).sort()).toEqual(['cursor', 'limit', 'status', 'updated_since']);
      for (const limit of ['101', 'abc', '-1', '1.5']) expect((await get(k, `/api/v1/customers?limit=${limit}`)).status).toBe(422);
      expect((await get(k, '/api/v1/customers?limit=100')).status).toBe(200);
      expect((await get(k, '/api/v1/customers?limit=1')).status).toBe(200);
    });

    it('walks 250 customers with limit=100, each exactly once, while 20 more are added mid-walk', async () => {
      const { key: wk, orgId: wo } = await ctx.org([Scope.CustomersRead]);
      await ctx.db.prisma.customer.createMany({
        data: Array.from({ length: 250 }, (_, i) => ({
          orgId: wo,
          externalId: `w-${i}`,
          fullName: `W ${i}`,
          createdAt: new Date(Date.parse('2026-01-01T00:00:00Z') + i),
        })),
      });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: RestResult = await get(wk, `/api/v1/customers?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        seen.push(...ext(res));
        cursor = res.body.next_cursor;
        if (pages++ === 0) {
          await ctx.db.prisma.customer.createMany({
            data: Array.from({ length: 20 }, (_, i) => ({ orgId: wo, externalId: `late-${i}`, fullName: `Late ${i}` })),
          });
        }
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      for (let i = 0; i < 250; i++) expect(seen).toContain(`w-${i}`);
      expect(seen).toHaveLength(270);
    });
  });
});
