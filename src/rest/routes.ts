// Every route of /api/v1 in one table, with its OpenAPI documentation next to it.
import { customerReadRoutes } from './customers.js';
import { buildOpenApi, LIST_PARAMETERS, type RequestSchemas, type RouteDoc } from './openapi.js';
import type { PublicRoute, Route } from './router.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, name: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });

export const restRoutes: Route[] = [...customerReadRoutes];

const docs: Record<string, RouteDoc> = {
  'GET /customers': {
    summary: 'List customers, oldest first, with an opaque cursor.',
    parameters: LIST_PARAMETERS,
    success: { 200: ok('A page of customers.', 'CustomerList') },
    errors: [422],
  },
  'GET /customers/{id}': { summary: 'One customer by UUID or external_id.', success: { 200: ok('The customer.', 'Customer') }, errors: [404] },
  'GET /customers/{id}/aml': { summary: 'The AML block of a customer (scope aml:read).', success: { 200: ok('The AML block.', 'Aml') }, errors: [404] },
};

const requestSchemas: RequestSchemas = {};

/** The OpenAPI document, built once from the route table. */
export const openApiDocument = buildOpenApi(restRoutes, docs, requestSchemas);
const openApiJson = JSON.parse(JSON.stringify(openApiDocument)) as unknown;

export const restPublicRoutes: PublicRoute[] = [{ method: 'GET', path: '/openapi.json', handler: () => ({ status: 200, body: openApiJson }) }];
