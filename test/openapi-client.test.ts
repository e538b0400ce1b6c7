// A typed REST client generated from the OpenAPI document the gateway serves: the committed
// types (test/generated/rest-api.ts, openapi-typescript) must be what the served document
// generates today, and an openapi-fetch client built on them drives every operation of a real
// gateway. `npm run typecheck` checks this file, so a call the document does not allow (an
// unknown path, a read-only or unknown body field, a missing path parameter) fails the build:
// the @ts-expect-error lines below fail when their call stops being an error.
import { readFile } from 'node:fs/promises';
import createClient from 'openapi-fetch';
import { describe, expect, it } from 'vitest';
import { REGENERATE_COMMAND, REST_API_TYPES_FILE, restApiTypes, type OpenAPI3 } from '../scripts/openapi-typegen/index.js';
import { Scope } from '../src/auth/scopes.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';
import type { components, paths } from './generated/rest-api.js';

const ctx = useGateway();

type Customer = components['schemas']['Customer'];
type CreateBody = paths['/api/v1/customers']['post']['requestBody']['content']['application/json'];

/** A client for one key; every call goes over HTTP to the fixture's gateway. */
function clientFor(key: string) {
  return createClient<paths>({ baseUrl: ctx.gw.url, headers: { authorization: `Bearer ${key}` } });
}

describe(`typed REST client (${dbKind})`, () => {
  it(`the committed types are generated from the served document (else: ${REGENERATE_COMMAND})`, async () => {
    const res = await fetch(`${ctx.gw.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const generated = await restApiTypes((await res.json()) as OpenAPI3);
    const committed = await readFile(REST_API_TYPES_FILE, 'utf8');
    expect(generated === committed, `${REST_API_TYPES_FILE} is stale: run ${REGENERATE_COMMAND} and commit it`).toBe(true);
  });

  it('create, replay, list, get, update and read the AML block through the typed client', async () => {
    const { key } = await ctx.org([Scope.CustomersWrite, Scope.CustomersRead, Scope.AmlRead]);
    const api = clientFor(key);
    const externalId = `crm-${Date.now()}`;
    const input = { externalId, fullName: 'Jane Doe', email: `${externalId}@example.com`, risk: { isNewCustomer: true } };

    // Create (201), then the same request with the same Idempotency-Key: replayed, nothing written.
    const idempotency = { header: { 'Idempotency-Key': `${externalId}-create` } };
    const created = await api.POST('/api/v1/customers', { params: idempotency, body: input });
    expect(created.response.status).toBe(201);
    expect(created.error).toBeUndefined();
    const customer: Customer = created.data!;
    expect(customer).toMatchObject({
      external_id: externalId,
      full_name: 'Jane Doe',
      email: input.email,
      type: 'INDIVIDUAL',
      kyc_status: 'NOT_STARTED',
      identity: null,
      added_via: 'INTEGRATION',
      aml: { status: 'NOT_SCREENED', flags: { pep: false, sanctions: false, adverse_media: false, terrorism: false } },
    });
    expect(customer).not.toHaveProperty('phone');
    expect(customer).not.toHaveProperty('risk');
    const replay = await api.POST('/api/v1/customers', { params: idempotency, body: input });
    expect(replay.response.status).toBe(201);
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.data).toEqual(customer);

    // List with the total: the one customer of this organisation.
    const list = await api.GET('/api/v1/customers', { params: { query: { limit: 10, include: 'total_count' } } });
    expect(list.response.status).toBe(200);
    expect(list.data).toEqual({ object: 'list', data: [customer], has_more: false, next_cursor: null, limit: 10, total_count: 1 });

    // Get by UUID and by external id.
    for (const id of [customer.id, externalId]) {
      const got = await api.GET('/api/v1/customers/{id}', { params: { path: { id } } });
      expect(got.response.status).toBe(200);
      expect(got.data).toEqual(customer);
    }

    // Update one field; the others stay.
    const newEmail = `${externalId}.new@example.com`;
    const updated = await api.PATCH('/api/v1/customers/{id}', { params: { path: { id: customer.id } }, body: { email: newEmail } });
    expect(updated.response.status).toBe(200);
    expect(updated.data).toEqual({ ...customer, email: newEmail, updated_at: updated.data!.updated_at });
    expect(Date.parse(updated.data!.updated_at)).toBeGreaterThan(Date.parse(customer.updated_at));

    // The AML block alone.
    const aml = await api.GET('/api/v1/customers/{id}/aml', { params: { path: { id: externalId } } });
    expect(aml.response.status).toBe(200);
    expect(aml.data).toEqual(customer.aml);
  });

  it('errors arrive typed, in the envelope of the document', async () => {
    const { key } = await ctx.org([Scope.CustomersWrite, Scope.CustomersRead]);
    const api = clientFor(key);

    const missing = await api.GET('/api/v1/customers/{id}', { params: { path: { id: 'crm-nobody' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.data).toBeUndefined();
    expect(missing.error?.error.code).toBe('not_found');

    const forbidden = await api.GET('/api/v1/customers/{id}/aml', { params: { path: { id: 'crm-nobody' } } });
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.error?.error).toMatchObject({ code: 'forbidden', details: { required_scope: Scope.AmlRead } });

    const badLimit = await api.GET('/api/v1/customers', { params: { query: { limit: 500 } } });
    expect(badLimit.response.status).toBe(422);
    expect(badLimit.error?.error.details.fields).toEqual([{ field: 'limit', message: expect.any(String) }]);
  });

  it('TypeScript rejects calls the document does not allow, and so does the server', async () => {
    const { key } = await ctx.org([Scope.CustomersWrite, Scope.CustomersRead]);
    const api = clientFor(key);

    // A required field left out.
    // @ts-expect-error fullName is required
    const incomplete = await api.POST('/api/v1/customers', { body: { email: 'incomplete@example.com' } });
    expect(incomplete.response.status).toBe(422);
    expect(incomplete.error?.error.details.fields).toEqual([{ field: 'fullName', message: 'is required' }]);

    // A value outside the enum.
    // @ts-expect-error COMPANY is not a customer type
    const badType = await api.POST('/api/v1/customers', { body: { fullName: 'Jane Doe', email: 'co@example.com', type: 'COMPANY' } });
    expect(badType.response.status).toBe(422);
    expect(badType.error?.error.details.fields).toEqual([{ field: 'type', message: expect.stringContaining('INDIVIDUAL') }]);

    // A read-only field: not in the body type (openapi-fetch infers the body generically, so the
    // excess property is caught where the body is typed).
    const readOnlyBody: CreateBody = {
      fullName: 'Jane Doe',
      email: 'ro@example.com',
      // @ts-expect-error kycStatus is read-only: not part of the request body
      kycStatus: 'VERIFIED',
    };
    const readOnly = await api.POST('/api/v1/customers', { body: readOnlyBody });
    expect(readOnly.response.status).toBe(422);
    expect(readOnly.error?.error.details.fields).toEqual([{ field: 'kycStatus', message: 'is read-only' }]);

    // A query parameter of the wrong type.
    // @ts-expect-error limit is an integer
    const badLimit = await api.GET('/api/v1/customers', { params: { query: { limit: 'all' } } });
    expect(badLimit.response.status).toBe(422);

    // Compile-time only: a path the API does not have, a method a path does not have, a path
    // parameter left out.
    const typeOnly = () => {
      // @ts-expect-error no such route
      void api.GET('/api/v1/customer');
      // @ts-expect-error the list cannot be patched
      void api.PATCH('/api/v1/customers', { body: {} });
      // @ts-expect-error the path parameter id is required
      void api.GET('/api/v1/customers/{id}', { params: { path: {} } });
    };
    expect(typeOnly).toBeTypeOf('function');
  });
});
