// Every route of /api/v1 in one table, with its OpenAPI documentation next to it.
import { customerInputJsonSchema } from '../customers/validation.js';
import { customerWriteRoutes } from './customer-writes.js';
import { customerReadRoutes } from './customers.js';
import { buildOpenApi, LIST_PARAMETERS, type RequestSchemas, type RouteDoc } from './openapi.js';
import type { PublicRoute, Route } from './router.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, name: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });

export const restRoutes: Route[] = [...customerWriteRoutes, ...customerReadRoutes];

const idempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', minLength: 1, maxLength: 255 },
  description: 'Replays the stored result of the first request with this key for 24 hours (header Idempotent-Replayed: true).',
};
const replayed = { 'Idempotent-Replayed': { schema: { const: 'true' }, description: 'Present on a replay.' } };
const written = (description: string) => ({ description, headers: replayed, content: { 'application/json': { schema: ref('Customer') } } });

const docs: Record<string, RouteDoc> = {
  'POST /customers': {
    summary: 'Create or update a customer by the match rules (externalId, then email).',
    parameters: [idempotencyHeader],
    success: { 201: written('Created.'), 200: written('Updated an existing customer (matched by externalId or email).') },
    errors: [400, 409, 413, 415, 422],
  },
  'PATCH /customers/{id}': {
    summary: 'Partially update fullName, email, phone or risk of a customer (by UUID or external_id).',
    parameters: [idempotencyHeader],
    success: { 200: written('Updated.') },
    errors: [400, 404, 409, 413, 415, 422],
  },
  'GET /customers': {
    summary: 'List customers, oldest first, with an opaque cursor.',
    parameters: LIST_PARAMETERS,
    success: { 200: ok('A page of customers.', 'CustomerList') },
    errors: [422],
  },
  'GET /customers/{id}': {
    summary: 'One customer by UUID or external_id.',
    success: { 200: ok('The customer.', 'Customer') },
    errors: [404],
  },
  'GET /customers/{id}/aml': {
    summary: 'The AML block of a customer (scope aml:read).',
    success: { 200: ok('The AML block.', 'Aml') },
    errors: [404],
  },
};

// The same declarative specs validate the bodies (customers/validation.ts).
const requestSchemas: RequestSchemas = {
  'POST /customers': customerInputJsonSchema('upsert'),
  'PATCH /customers/{id}': customerInputJsonSchema('patch'),
};

/** The OpenAPI document, built once from the route table. */
export const openApiDocument = buildOpenApi(restRoutes, docs, requestSchemas);
const openApiJson = JSON.parse(JSON.stringify(openApiDocument)) as unknown;

export const restPublicRoutes: PublicRoute[] = [
  { method: 'GET', path: '/openapi.json', handler: () => ({ status: 200, body: openApiJson }) },
];
