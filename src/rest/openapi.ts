// The OpenAPI 3.1 document of /api/v1, served at GET /api/v1/openapi.json. Response schemas
// are written once here and checked against real responses in the tests; request schemas
// come from the same declarative specs that validate requests (customers/validation.ts), so
// the document cannot drift from the behaviour. Field and status meanings come from
// customers/descriptions.ts, shared with the GraphQL schema. `npm run lint:api` lints the
// document with every @redocly/cli rule (redocly.yaml).
import { ALL_SCOPES, Scope } from '../auth/scopes.js';
import {
  AML_FIELD_DOCS,
  AML_FLAG_DOCS,
  CUSTOMER_FIELD_DOCS,
  IDENTITY_FIELD_DOCS,
  KYC_STATUS_DOCS,
  AML_STATUS_DOCS,
} from '../customers/descriptions.js';
import { FILTER_TEXT_MAX_LENGTH, LIST_DEFAULT, LIST_MAX } from '../customers/queries.js';
import { AddedVia, AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';
import { ErrorCode } from '../lib/error-codes.js';
import { TIMESTAMP_FORMAT } from '../lib/time.js';
import { MAX_BODY_BYTES, REST_PREFIX, type Route } from './router.js';

type Schema = Record<string, unknown>;
const nullable = (s: Schema, description: string, example: unknown = null): Schema => ({
  anyOf: [s, { type: 'null' }],
  description,
  examples: [example],
});
const timestamp = (description: string, example: string): Schema => ({
  type: 'string',
  format: 'date-time',
  description,
  examples: [example],
});
const enumOf = (values: readonly string[], description: string, example: string): Schema => ({
  type: 'string',
  enum: [...values],
  description,
  examples: [example],
});
const ref = (kind: 'schemas' | 'headers', name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** "VALUE — meaning" lines of an enum, for the description of the property that holds it. */
const valueList = (docs: Readonly<Record<string, string>>) =>
  Object.entries(docs)
    .map(([value, meaning]) => `- \`${value}\`: ${meaning}`)
    .join('\n');

const EXAMPLE_ID = '7f1c2a9e-4b1d-4c8e-9a57-3d2f6b0e8c41';

export const componentSchemas: Record<string, Schema> = {
  Aml: {
    type: 'object',
    description: 'The AML (anti-money-laundering) block of a customer.',
    additionalProperties: false,
    required: ['status', 'screened_at', 'last_reviewed_at', 'flags'],
    properties: {
      status: enumOf(Object.values(AmlStatus), `${AML_FIELD_DOCS.status}\n\n${valueList(AML_STATUS_DOCS)}`, AmlStatus.CLEAR),
      screened_at: nullable({ type: 'string', format: 'date-time' }, AML_FIELD_DOCS.screenedAt, '2026-03-02T10:15:00.000Z'),
      last_reviewed_at: nullable({ type: 'string', format: 'date-time' }, AML_FIELD_DOCS.lastReviewedAt),
      flags: {
        type: 'object',
        description: AML_FIELD_DOCS.flags,
        additionalProperties: false,
        required: ['pep', 'sanctions', 'adverse_media', 'terrorism'],
        properties: {
          pep: { type: 'boolean', description: AML_FLAG_DOCS.pep, examples: [false] },
          sanctions: { type: 'boolean', description: AML_FLAG_DOCS.sanctions, examples: [false] },
          adverse_media: { type: 'boolean', description: AML_FLAG_DOCS.adverseMedia, examples: [false] },
          terrorism: { type: 'boolean', description: AML_FLAG_DOCS.terrorism, examples: [false] },
        },
      },
    },
  },
  Customer: {
    type: 'object',
    description: 'A customer of your organisation: its public fields only. Phone and risk answers are write-only and never returned.',
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
      id: { type: 'string', format: 'uuid', description: CUSTOMER_FIELD_DOCS.id, examples: [EXAMPLE_ID] },
      external_id: nullable({ type: 'string', maxLength: 255 }, CUSTOMER_FIELD_DOCS.externalId, 'crm-7741'),
      type: enumOf(Object.values(CustomerType), CUSTOMER_FIELD_DOCS.type, CustomerType.INDIVIDUAL),
      full_name: { type: 'string', minLength: 1, maxLength: 255, description: CUSTOMER_FIELD_DOCS.fullName, examples: ['Jane Doe'] },
      email: nullable({ type: 'string', maxLength: 255 }, CUSTOMER_FIELD_DOCS.email, 'jane@example.com'),
      kyc_status: enumOf(Object.values(KycStatus), `${CUSTOMER_FIELD_DOCS.kycStatus}\n\n${valueList(KYC_STATUS_DOCS)}`, KycStatus.VERIFIED),
      kyc_started_at: nullable({ type: 'string', format: 'date-time' }, CUSTOMER_FIELD_DOCS.kycStartedAt, '2026-03-01T09:00:00.000Z'),
      kyc_completed_at: nullable({ type: 'string', format: 'date-time' }, CUSTOMER_FIELD_DOCS.kycCompletedAt, '2026-03-01T09:30:00.000Z'),
      identity: {
        anyOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['verified_legal_name', 'verified_country'],
            properties: {
              verified_legal_name: {
                type: 'string',
                minLength: 1,
                maxLength: 255,
                description: IDENTITY_FIELD_DOCS.verifiedLegalName,
                examples: ['Jane Alice Doe'],
              },
              verified_country: {
                type: 'string',
                pattern: '^[A-Z]{3}$',
                description: IDENTITY_FIELD_DOCS.verifiedCountry,
                examples: ['GBR'],
              },
            },
          },
          { type: 'null' },
        ],
        description: CUSTOMER_FIELD_DOCS.identity,
      },
      aml: { $ref: '#/components/schemas/Aml' },
      added_via: enumOf(Object.values(AddedVia), CUSTOMER_FIELD_DOCS.addedVia, AddedVia.INTEGRATION),
      created_at: timestamp(CUSTOMER_FIELD_DOCS.createdAt, '2026-02-27T16:42:05.123Z'),
      updated_at: timestamp(CUSTOMER_FIELD_DOCS.updatedAt, '2026-03-02T10:15:00.000Z'),
    },
  },
  CustomerList: {
    type: 'object',
    description: 'A page of customers, ordered by creation time then id, oldest first.',
    additionalProperties: false,
    required: ['object', 'data', 'has_more', 'next_cursor', 'limit'],
    properties: {
      object: { type: 'string', const: 'list', description: 'Always "list".', examples: ['list'] },
      data: { type: 'array', items: { $ref: '#/components/schemas/Customer' }, description: 'The customers of this page.' },
      has_more: { type: 'boolean', description: 'True when more customers follow this page.', examples: [true] },
      next_cursor: nullable(
        { type: 'string' },
        'Pass it as `cursor` to get the next page; null on the last page.',
        'eyJwIjoiZXlKdklqb2lRMUpGUVZSRlJGOUJWQ0o5IiwiZiI6e319',
      ),
      limit: { type: 'integer', minimum: 1, maximum: LIST_MAX, description: 'The page size that was applied.', examples: [LIST_DEFAULT] },
      total_count: {
        type: 'integer',
        minimum: 0,
        description:
          'Customers matching the filters across all pages. Present only with include=total_count (absent, not null, otherwise).',
        examples: [1234],
      },
    },
  },
  Error: {
    type: 'object',
    description: 'The one error envelope of every 4xx and 5xx answer.',
    additionalProperties: false,
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'message', 'details'],
        properties: {
          code: enumOf(Object.values(ErrorCode), 'Stable machine-readable code; branch on it.', ErrorCode.ValidationFailed),
          message: {
            type: 'string',
            minLength: 1,
            description: 'Human-readable explanation in English; it may change, so never parse it.',
            examples: ['The request is not valid; see details.fields.'],
          },
          details: {
            type: 'object',
            description: 'Facts for the code, `{}` when it has none. Further keys may be added; ignore those you do not know.',
            properties: {
              fields: {
                type: 'array',
                description: 'validation_failed: every bad field at once.',
                items: {
                  type: 'object',
                  required: ['field', 'message'],
                  properties: {
                    field: {
                      type: 'string',
                      minLength: 1,
                      description: 'The field, query parameter or header, nested fields dotted.',
                      examples: ['email'],
                    },
                    message: {
                      type: 'string',
                      minLength: 1,
                      description: 'What is wrong with it.',
                      examples: ['must be an email address'],
                    },
                  },
                },
              },
              field: { type: 'string', description: 'conflict: the input field that conflicts.', examples: ['email'] },
              required_scope: {
                type: 'string',
                enum: [...ALL_SCOPES],
                description: 'forbidden: the scope the key lacks.',
                examples: [Scope.CustomersWrite],
              },
              limit: { type: 'integer', description: 'rate_limited: requests allowed per window.', examples: [60] },
              window_seconds: { type: 'integer', description: 'rate_limited: the window, in seconds.', examples: [60] },
              max_bytes: { type: 'integer', description: 'payload_too_large: the largest body accepted.', examples: [MAX_BODY_BYTES] },
            },
          },
        },
      },
    },
  },
};

/** Response headers, documented once and referenced by every response that sends them. */
const componentHeaders: Record<string, Schema> = {
  'X-Request-Id': {
    description:
      'Identifies the request in the gateway logs; quote it when reporting a problem. Echoes the request header X-Request-Id when it is 1 to 128 letters, digits, `_`, `.` or `-`; a new UUID otherwise.',
    schema: { type: 'string', examples: ['9b2e4c1a-6f0d-4e8b-8c3a-2d5f7e9a1b04'] },
  },
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 1, examples: [30] },
  },
  'WWW-Authenticate': {
    description: 'How to authenticate: `Bearer`.',
    schema: { type: 'string', const: 'Bearer', examples: ['Bearer'] },
  },
  'Idempotent-Replayed': {
    description:
      '`true` when this is the stored response of an earlier request with the same Idempotency-Key (nothing was written); absent otherwise.',
    schema: { type: 'string', const: 'true', examples: ['true'] },
  },
};

const requestIdHeader = { 'X-Request-Id': ref('headers', 'X-Request-Id') };

/** A JSON response with its headers (X-Request-Id always). */
export function jsonResponse(description: string, schema: string, headers: Record<string, Schema> = {}) {
  return {
    description,
    headers: { ...requestIdHeader, ...headers },
    content: { 'application/json': { schema: ref('schemas', schema) } },
  };
}
export type JsonResponse = ReturnType<typeof jsonResponse>;

/** The Idempotent-Replayed header, on the success responses of the routes that take an Idempotency-Key. */
export const replayedHeader = { 'Idempotent-Replayed': ref('headers', 'Idempotent-Replayed') };

const errorExample = (code: ErrorCode, message: string, details: Record<string, unknown> = {}) => ({
  value: { error: { code, message, details } },
});

interface ErrorDoc {
  description: string;
  /** Named examples of the envelope for this status. */
  examples: Record<string, ReturnType<typeof errorExample>>;
  headers?: Record<string, Schema>;
}

const ERRORS: Record<number, ErrorDoc> = {
  400: {
    description: 'invalid_request: the body is not valid JSON, or not a JSON object.',
    examples: { invalid_request: errorExample(ErrorCode.InvalidRequest, 'The body is not valid JSON.') },
  },
  401: {
    description: 'unauthorized: the API key is missing, malformed, unknown, revoked or expired.',
    examples: { unauthorized: errorExample(ErrorCode.Unauthorized, 'Send an API key as Authorization: Bearer <key>.') },
    headers: { 'WWW-Authenticate': ref('headers', 'WWW-Authenticate') },
  },
  403: {
    description: 'forbidden: the key lacks the scope of this operation (details.required_scope).',
    examples: {
      forbidden: errorExample(ErrorCode.Forbidden, 'This key lacks the customers:write scope.', { required_scope: Scope.CustomersWrite }),
    },
  },
  404: {
    description: 'not_found: your organisation has no customer with that id or external id.',
    examples: { not_found: errorExample(ErrorCode.NotFound, 'No such customer.') },
  },
  409: {
    description:
      'conflict: the email belongs to another customer (details.field); idempotency_conflict: the Idempotency-Key was used with a different request; idempotency_in_progress: a request with this key is still running (Retry-After: 1). Nothing was changed.',
    examples: {
      conflict: errorExample(ErrorCode.Conflict, 'The email belongs to another customer.', { field: 'email' }),
      idempotency_conflict: errorExample(ErrorCode.IdempotencyConflict, 'This Idempotency-Key was used with a different request.'),
      idempotency_in_progress: errorExample(
        ErrorCode.IdempotencyInProgress,
        'A request with this Idempotency-Key is still running; retry shortly.',
      ),
    },
    headers: { 'Retry-After': ref('headers', 'Retry-After') },
  },
  413: {
    description: `payload_too_large: the body is over ${MAX_BODY_BYTES} bytes.`,
    examples: {
      payload_too_large: errorExample(ErrorCode.PayloadTooLarge, `The body must not exceed ${MAX_BODY_BYTES} bytes.`, {
        max_bytes: MAX_BODY_BYTES,
      }),
    },
  },
  415: {
    description: 'unsupported_media_type: a write without Content-Type: application/json.',
    examples: {
      unsupported_media_type: errorExample(ErrorCode.UnsupportedMediaType, 'Send the body as JSON with Content-Type: application/json.'),
    },
  },
  422: {
    description:
      'validation_failed: a field or parameter is missing, too long, of the wrong type or format, unknown or read-only; details.fields lists every one. Nothing was changed.',
    examples: {
      validation_failed: errorExample(ErrorCode.ValidationFailed, 'The request is not valid; see details.fields.', {
        fields: [
          { field: 'email', message: 'must be an email address' },
          { field: 'kycStatus', message: 'is read-only' },
        ],
      }),
    },
  },
  429: {
    description:
      'rate_limited: the key is over its per-minute or per-day limit (details.limit, details.window_seconds); retry after Retry-After seconds.',
    examples: {
      rate_limited: errorExample(ErrorCode.RateLimited, 'Rate limit of 60 requests per 60 s exceeded.', { limit: 60, window_seconds: 60 }),
    },
    headers: { 'Retry-After': ref('headers', 'Retry-After') },
  },
  500: {
    description: 'internal_error: the gateway failed; nothing internal is disclosed. Quote the X-Request-Id header when reporting it.',
    examples: { internal_error: errorExample(ErrorCode.Internal, 'Unexpected error. Quote the X-Request-Id header when reporting it.') },
  },
  503: {
    description: 'unavailable: the database cannot be reached right now; retry after Retry-After seconds.',
    examples: { unavailable: errorExample(ErrorCode.Unavailable, 'The service is temporarily unavailable; retry shortly.') },
    headers: { 'Retry-After': ref('headers', 'Retry-After') },
  },
};

/** Every operation can answer these (key, rate limit, scope, and our own failures). */
const COMMON_ERRORS = [401, 403, 429, 500, 503];

function errorResponse(status: number) {
  const doc = ERRORS[status];
  if (!doc) throw new Error(`no OpenAPI documentation for HTTP ${status}`);
  return {
    description: doc.description,
    headers: { ...requestIdHeader, ...doc.headers },
    content: { 'application/json': { schema: ref('schemas', 'Error'), examples: doc.examples } },
  };
}

/** Request body schemas of the write routes, keyed by `METHOD path`. */
export type RequestSchemas = Record<string, Schema>;

/** Tags group the operations in documentation and in generated clients. */
export const OpenApiTag = { Aml: 'AML', Customers: 'Customers' } as const;
export type OpenApiTag = (typeof OpenApiTag)[keyof typeof OpenApiTag];
const TAGS: { name: OpenApiTag; description: string }[] = [
  { name: OpenApiTag.Aml, description: 'The AML block of a customer alone, for keys with the aml:read scope.' },
  { name: OpenApiTag.Customers, description: 'Create, update, read and list the customers of your organisation.' },
];

/** What each route answers on success, with its documentation. */
export interface RouteDoc {
  /** The name a client generator gives the operation's method, e.g. `createCustomer`. */
  operationId: string;
  tag: OpenApiTag;
  /** One line. */
  summary: string;
  /** What the operation does, its rules and its scope. */
  description: string;
  success: Record<string, JsonResponse>;
  parameters?: Schema[];
  /** Write routes: what the body is, and one valid example of it (shown, and lint-checked against the schema). */
  requestBody?: { description: string; example: Record<string, unknown> };
  /** Errors this route can answer besides the common ones. */
  errors: number[];
}

/**
 * The request schema with each property's example taken from one example of every write-input
 * field, so that the examples live in one place. A property without an example is a build error
 * rather than an undocumented field.
 */
function withPropertyExamples(schema: Schema, example: Record<string, unknown>, at: string): Schema {
  const properties = schema.properties as Record<string, Schema> | undefined;
  if (!properties) return schema;
  const withExamples: Record<string, Schema> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (!(name in example)) throw new Error(`the OpenAPI example of ${at} has no ${name}`);
    const value = example[name];
    const nested =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? withPropertyExamples(property, value as Record<string, unknown>, `${at}.${name}`)
        : property;
    withExamples[name] = { ...nested, examples: [value] };
  }
  return { ...schema, properties: withExamples };
}

/** The order @redocly's path-http-verbs-order expects operations in, within a path. */
const METHOD_ORDER = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

/** Builds the document from the route table, their docs and the request schemas. */
export function buildOpenApi(
  routes: Route[],
  docs: Record<string, RouteDoc>,
  requestSchemas: RequestSchemas,
  fieldExamples: Record<string, unknown>,
): Schema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const id = `${route.method} ${route.path}`;
    const doc = docs[id];
    if (!doc) throw new Error(`no OpenAPI documentation for ${id}`);
    const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => {
      if (m[1] !== 'id') throw new Error(`no OpenAPI documentation for the path parameter ${m[1]} of ${id}`);
      return {
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string', minLength: 1, examples: ['crm-7741'] },
        description: 'The customer UUID or its external_id (told apart automatically).',
      };
    });
    const responses: Record<string, unknown> = { ...doc.success };
    for (const status of [...new Set([...COMMON_ERRORS, ...doc.errors])].sort((a, b) => a - b)) {
      responses[String(status)] = errorResponse(status);
    }
    const operation: Record<string, unknown> = {
      operationId: doc.operationId,
      tags: [doc.tag],
      summary: doc.summary,
      description: `${doc.description}\n\nScope: \`${route.scope}\`.`,
      security: [{ bearer: [] }],
      'x-required-scope': route.scope,
      parameters: [...pathParams, ...(doc.parameters ?? [])],
      responses,
    };
    const body = requestSchemas[id];
    if (body) {
      if (!doc.requestBody) throw new Error(`no request body documentation for ${id}`);
      operation.requestBody = {
        required: true,
        description: doc.requestBody.description,
        content: { 'application/json': { schema: withPropertyExamples(body, fieldExamples, id), example: doc.requestBody.example } },
      };
    }
    (paths[`${REST_PREFIX}${route.path}`] ??= {})[route.method.toLowerCase()] = operation;
  }
  for (const [path, item] of Object.entries(paths)) {
    paths[path] = Object.fromEntries(Object.entries(item).sort(([a], [b]) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b)));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'customer-gateway REST compatibility API',
      version: '1',
      description:
        'Drop-in for the platform REST API v1 over the customer records of your organisation. Request bodies are camelCase JSON; responses are snake_case JSON. Every response carries X-Request-Id; every error uses one envelope, `{"error":{"code","message","details"}}`.',
      // The repository publishes no licence (package.json is private): the API and its
      // description are proprietary. Named here so that integrators know.
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'This gateway.' }],
    tags: TAGS,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key of your organisation, `ic_live_…`: Authorization: Bearer <key>.',
        },
      },
      headers: componentHeaders,
      schemas: componentSchemas,
    },
    paths,
  };
}

export const LIST_PARAMETERS: Schema[] = [
  {
    name: 'limit',
    in: 'query',
    description: `Page size, 1 to ${LIST_MAX} (${LIST_DEFAULT} by default); outside that range the answer is 422.`,
    schema: { type: 'integer', minimum: 1, maximum: LIST_MAX, default: LIST_DEFAULT, examples: [100] },
  },
  {
    name: 'cursor',
    in: 'query',
    description: 'next_cursor of the previous page. It keeps the filters of the first page: filters sent along with it are ignored.',
    schema: { type: 'string', examples: ['eyJwIjoiZXlKdklqb2lRMUpGUVZSRlJGOUJWQ0o5IiwiZiI6e319'] },
  },
  {
    name: 'status',
    in: 'query',
    description: `KYC status, one or several comma-separated: ${Object.values(KycStatus).join(', ')}.`,
    schema: { type: 'string', examples: ['PENDING,IN_PROGRESS'] },
  },
  {
    name: 'aml_status',
    in: 'query',
    description: `AML status, one or several comma-separated: ${Object.values(AmlStatus).join(', ')}.`,
    schema: { type: 'string', examples: ['NEEDS_REVIEW'] },
  },
  {
    name: 'updated_since',
    in: 'query',
    description: `Only customers updated strictly after this instant: ${TIMESTAMP_FORMAT}.`,
    schema: { type: 'string', format: 'date-time', examples: ['2026-03-01T00:00:00Z'] },
  },
  {
    name: 'external_id',
    in: 'query',
    description: 'Only the customer with exactly this external id.',
    schema: { type: 'string', maxLength: FILTER_TEXT_MAX_LENGTH, examples: ['crm-7741'] },
  },
  {
    name: 'include',
    in: 'query',
    description: 'total_count adds the number of matching customers across all pages (one more query).',
    schema: { type: 'string', const: 'total_count', examples: ['total_count'] },
  },
];
