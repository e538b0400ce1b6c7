// Every route of /api/v1 in one table, with its OpenAPI documentation next to it: the
// operationId a client generator turns into a method name is declared here, per route.
import { IDEMPOTENCY_KEY_MAX_LENGTH } from '../idempotency/store.js';
import { customerInputJsonSchema } from '../customers/validation.js';
import { customerWriteRoutes } from './customer-writes.js';
import { customerReadRoutes } from './customers.js';
import { buildOpenApi, jsonResponse, LIST_PARAMETERS, OpenApiTag, replayedHeader, type RequestSchemas, type RouteDoc } from './openapi.js';
import type { PublicRoute, Route } from './router.js';

export const restRoutes: Route[] = [...customerWriteRoutes, ...customerReadRoutes];

const idempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH, examples: ['4f1c9a2e-crm-sync-7741'] },
  description:
    'Makes a retry safe. For 24 hours the same key with the same body answers the stored status and body of the first request (header Idempotent-Replayed: true) and writes nothing; with a different body it is 409 idempotency_conflict. Scoped to your organisation and this operation (PATCH: with its {id} as sent).',
};
const written = (description: string) => jsonResponse(description, 'Customer', replayedHeader);

/** One example of every write-input field: the property examples of both request bodies. */
const INPUT_FIELD_EXAMPLES = {
  externalId: 'crm-7741',
  type: 'INDIVIDUAL',
  fullName: 'Jane Doe',
  email: 'jane@example.com',
  phone: '+44 20 7946 0958',
  risk: { isNewCustomer: true, isDesignatedService: false, handlesCashOrCrypto: false },
};

const docs: Record<string, RouteDoc> = {
  'POST /customers': {
    operationId: 'createCustomer',
    tag: OpenApiTag.Customers,
    summary: 'Create or update a customer',
    description:
      'Upserts a customer by the match rules, in this order: a customer with the externalId sent is updated; else a customer without an external id that has the email (case-insensitive) is given the externalId and updated; else a customer is created (201). Without externalId, a customer with the email is updated. An email that belongs to another customer is 409 conflict; a new fullName or email for a customer whose KYC is VERIFIED is 422. An update overwrites the fields sent and keeps those left out; type is ignored on update.',
    parameters: [idempotencyHeader],
    requestBody: {
      description: 'The customer as your CRM knows it (camelCase). fullName and email are required; unknown and read-only fields are 422.',
      example: INPUT_FIELD_EXAMPLES,
    },
    success: {
      201: written('Created: no customer matched.'),
      200: written('Updated: a customer matched by externalId or by email.'),
    },
    errors: [400, 409, 413, 415, 422],
  },
  'PATCH /customers/{id}': {
    operationId: 'updateCustomer',
    tag: OpenApiTag.Customers,
    summary: 'Update some fields of a customer',
    description:
      'Changes fullName, email, phone or risk of a customer found by UUID or external_id; fields left out stay unchanged. type, externalId and status fields are 422. An email that belongs to another customer is 409 conflict; a new fullName or email for a customer whose KYC is VERIFIED is 422. A body equal to what is stored writes nothing (updated_at unchanged).',
    parameters: [idempotencyHeader],
    requestBody: {
      description: 'The fields to change (camelCase); null clears phone or a risk answer.',
      example: { email: 'jane.doe@example.com', phone: null },
    },
    success: { 200: written('The customer after the update.') },
    errors: [400, 404, 409, 413, 415, 422],
  },
  'GET /customers': {
    operationId: 'listCustomers',
    tag: OpenApiTag.Customers,
    summary: 'List customers',
    description:
      'A page of the customers of your organisation, oldest first (by creation time, then id), optionally filtered. Walk the list with next_cursor: a walk never skips or repeats a customer while customers are being added. Unknown query parameters are ignored; a bad value of a known one is 422.',
    parameters: LIST_PARAMETERS,
    success: { 200: jsonResponse('A page of customers.', 'CustomerList') },
    errors: [422],
  },
  'GET /customers/{id}': {
    operationId: 'getCustomer',
    tag: OpenApiTag.Customers,
    summary: 'Get a customer',
    description: 'One customer of your organisation, by UUID or external_id.',
    success: { 200: jsonResponse('The customer.', 'Customer') },
    errors: [404],
  },
  'GET /customers/{id}/aml': {
    operationId: 'getCustomerAml',
    tag: OpenApiTag.Aml,
    summary: "Get a customer's AML block",
    description: 'Only the AML block of a customer, by UUID or external_id: for keys that may see nothing else about customers.',
    success: { 200: jsonResponse('The AML block.', 'Aml') },
    errors: [404],
  },
};

// The same declarative specs validate the bodies (customers/validation.ts).
const requestSchemas: RequestSchemas = {
  'POST /customers': customerInputJsonSchema('upsert'),
  'PATCH /customers/{id}': customerInputJsonSchema('patch'),
};

/** The OpenAPI document, built once from the route table. */
export const openApiDocument = buildOpenApi(restRoutes, docs, requestSchemas, INPUT_FIELD_EXAMPLES);
const openApiJson = JSON.parse(JSON.stringify(openApiDocument)) as unknown;

export const restPublicRoutes: PublicRoute[] = [
  { method: 'GET', path: '/openapi.json', handler: () => ({ status: 200, body: openApiJson }) },
];
