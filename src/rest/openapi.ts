// The OpenAPI 3.1 document of /api/v1, served at GET /api/v1/openapi.json. Response schemas
// are written once here and checked against real responses in the tests; request schemas
// come from the same declarative specs that validate requests (customers/validation.ts), so
// the document cannot drift from the behaviour.
import { AddedVia, AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';
import { ErrorCode } from '../lib/error-codes.js';
import { TIMESTAMP_FORMAT } from '../lib/time.js';
import { FILTER_TEXT_MAX_LENGTH, LIST_DEFAULT, LIST_MAX } from '../customers/queries.js';
import { MAX_BODY_BYTES, REST_PREFIX, type Route } from './router.js';

type Schema = Record<string, unknown>;
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const timestamp: Schema = { type: 'string', format: 'date-time' };

export const componentSchemas: Record<string, Schema> = {
  Aml: {
    type: 'object',
    additionalProperties: false,
    required: ['status', 'screened_at', 'last_reviewed_at', 'flags'],
    properties: {
      status: { type: 'string', enum: Object.values(AmlStatus) },
      screened_at: nullable(timestamp),
      last_reviewed_at: nullable(timestamp),
      flags: {
        type: 'object',
        additionalProperties: false,
        required: ['pep', 'sanctions', 'adverse_media', 'terrorism'],
        properties: {
          pep: { type: 'boolean' },
          sanctions: { type: 'boolean' },
          adverse_media: { type: 'boolean' },
          terrorism: { type: 'boolean' },
        },
      },
    },
  },
  Customer: {
    type: 'object',
    additionalProperties: false,
    required: [
      'id',
      'external_id',
      'type',
      'full_name',
      'email',
      'kyc_status',
      'kyc_started_at',
      'kyc_completed_at',
      'identity',
      'aml',
      'added_via',
      'created_at',
      'updated_at',
    ],
    properties: {
      id: { type: 'string', format: 'uuid' },
      external_id: nullable({ type: 'string', maxLength: 255 }),
      type: { type: 'string', enum: Object.values(CustomerType) },
      full_name: { type: 'string', minLength: 1, maxLength: 255 },
      email: nullable({ type: 'string', maxLength: 255 }),
      kyc_status: { type: 'string', enum: Object.values(KycStatus) },
      kyc_started_at: nullable(timestamp),
      kyc_completed_at: nullable(timestamp),
      identity: nullable({
        type: 'object',
        additionalProperties: false,
        required: ['verified_legal_name', 'verified_country'],
        properties: { verified_legal_name: { type: 'string' }, verified_country: { type: 'string', pattern: '^[A-Z]{3}$' } },
      }),
      aml: { $ref: '#/components/schemas/Aml' },
      added_via: { type: 'string', enum: Object.values(AddedVia) },
      created_at: timestamp,
      updated_at: timestamp,
    },
  },
  CustomerList: {
    type: 'object',
    additionalProperties: false,
    required: ['object', 'data', 'has_more', 'next_cursor', 'limit'],
    properties: {
      object: { const: 'list' },
      data: { type: 'array', items: { $ref: '#/components/schemas/Customer' } },
      has_more: { type: 'boolean' },
      next_cursor: nullable({ type: 'string' }),
      limit: { type: 'integer', minimum: 1, maximum: LIST_MAX },
      total_count: { type: 'integer', minimum: 0, description: 'Present only with include=total_count.' },
    },
  },
  Error: {
    type: 'object',
    additionalProperties: false,
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'message', 'details'],
        properties: {
          code: { type: 'string', enum: Object.values(ErrorCode) },
          message: { type: 'string' },
          details: { type: 'object' },
        },
      },
    },
  },
};

/** Request body schemas of the write routes, keyed by `METHOD path`. */
export type RequestSchemas = Record<string, Schema>;

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const json = (description: string, schema: Schema) => ({ description, content: { 'application/json': { schema } } });

/** What each route answers on success, with its documentation. */
export interface RouteDoc {
  summary: string;
  success: Record<string, ReturnType<typeof json>>;
  parameters?: Schema[];
  /** Errors this route can answer besides the common ones. */
  errors: number[];
}

const COMMON_ERRORS: Record<number, string> = {
  400: 'The body is not valid JSON, or not a JSON object (invalid_request).',
  401: 'Missing, malformed, unknown, revoked or expired key (unauthorized).',
  403: 'The key lacks the scope (forbidden); details.required_scope.',
  404: 'No such customer in your organisation (not_found).',
  409: 'conflict (details.field), idempotency_conflict or idempotency_in_progress (Retry-After: 1).',
  413: `Body over ${MAX_BODY_BYTES} bytes (payload_too_large).`,
  415: 'A write without Content-Type: application/json (unsupported_media_type).',
  422: 'validation_failed: details.fields lists every bad field.',
  429: 'rate_limited: Retry-After seconds; details {limit, window_seconds}.',
  500: 'internal_error; quote the X-Request-Id header.',
  503: 'unavailable: the database cannot be reached; Retry-After.',
};

/** Builds the document from the route table, their docs and the request schemas. */
export function buildOpenApi(routes: Route[], docs: Record<string, RouteDoc>, requestSchemas: RequestSchemas): Schema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const id = `${route.method} ${route.path}`;
    const doc = docs[id];
    if (!doc) throw new Error(`no OpenAPI documentation for ${id}`);
    const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
      description: m[1] === 'id' ? 'The customer UUID or its external_id (detected automatically).' : undefined,
    }));
    const responses: Record<string, unknown> = { ...doc.success };
    for (const status of [401, 403, 429, 500, 503, ...doc.errors]) responses[String(status)] = errorResponse(COMMON_ERRORS[status]!);
    const operation: Record<string, unknown> = {
      operationId: id.replace(/[^A-Za-z]+(\w)/g, (_m, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toLowerCase()),
      summary: doc.summary,
      security: [{ bearer: [] }],
      'x-required-scope': route.scope,
      parameters: [...pathParams, ...(doc.parameters ?? [])],
      responses,
    };
    const body = requestSchemas[id];
    if (body) operation.requestBody = { required: true, content: { 'application/json': { schema: body } } };
    (paths[`${REST_PREFIX}${route.path}`] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'customer-gateway REST compatibility API',
      version: '1',
      description:
        'Drop-in for the platform REST API v1. Request bodies are camelCase JSON; responses are snake_case. Every response carries X-Request-Id.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: ic_live_…' } },
      schemas: componentSchemas,
    },
    paths,
  };
}

export const LIST_PARAMETERS: Schema[] = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: LIST_MAX, default: LIST_DEFAULT } },
  {
    name: 'cursor',
    in: 'query',
    schema: { type: 'string' },
    description: 'next_cursor of the previous page; it keeps the filters of the first page.',
  },
  {
    name: 'status',
    in: 'query',
    schema: { type: 'string' },
    description: `KYC status, comma-separated: ${Object.values(KycStatus).join(', ')}.`,
  },
  {
    name: 'aml_status',
    in: 'query',
    schema: { type: 'string' },
    description: `AML status, comma-separated: ${Object.values(AmlStatus).join(', ')}.`,
  },
  {
    name: 'updated_since',
    in: 'query',
    schema: { type: 'string', format: 'date-time' },
    description: `Strictly after this instant: ${TIMESTAMP_FORMAT}.`,
  },
  { name: 'external_id', in: 'query', schema: { type: 'string', maxLength: FILTER_TEXT_MAX_LENGTH } },
  { name: 'include', in: 'query', schema: { const: 'total_count' } },
];
