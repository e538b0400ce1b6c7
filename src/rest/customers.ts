// /api/v1/customers handlers: parse the request, call one domain function, render.
import { Scope } from '../auth/scopes.js';
import { amlOf, toPublicCustomer } from '../customers/dto.js';
import {
  countCustomers,
  cursorOf,
  findCustomer,
  listCustomers,
  LIST_DEFAULT,
  LIST_MAX,
  type CustomerFilter,
} from '../customers/queries.js';
import { AmlStatus, KycStatus } from '../generated/prisma/enums.js';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../lib/cursor.js';
import type { FieldError } from '../lib/error-codes.js';
import { notFound, validationFailed } from './errors.js';
import { renderAml, renderCustomer, type RestCustomer } from './render.js';
import type { RestRequest, RestResponse, Route } from './router.js';

/** Filters a REST cursor carries from the first page to every later one. */
interface ListFilters {
  status?: KycStatus[];
  aml_status?: AmlStatus[];
  updated_since?: string;
  external_id?: string;
}
interface RestCursor {
  /** The domain position after the last row of the previous page. */
  p: string;
  f: ListFilters;
}
const isRestCursor = (v: unknown): v is RestCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as RestCursor).p === 'string' &&
  typeof (v as RestCursor).f === 'object' &&
  (v as RestCursor).f !== null;

export interface ListEnvelope {
  object: 'list';
  data: RestCustomer[];
  has_more: boolean;
  next_cursor: string | null;
  limit: number;
  total_count?: number;
}

function enumList<T extends string>(raw: string | null, allowed: Record<string, T>, field: string, errors: FieldError[]): T[] | undefined {
  if (raw === null) return undefined;
  const values = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = values.filter((v) => !(v in allowed));
  if (values.length === 0 || bad.length) {
    errors.push({ field, message: `must be one or more of ${Object.keys(allowed).join(', ')} (comma-separated)` });
    return undefined;
  }
  return values as T[];
}

/** Parses the list query; every bad parameter is reported at once. */
function parseListQuery(query: URLSearchParams): {
  limit: number;
  filters: ListFilters;
  cursor: RestCursor | undefined;
  includeTotal: boolean;
} {
  const errors: FieldError[] = [];
  let limit = LIST_DEFAULT;
  const rawLimit = query.get('limit');
  if (rawLimit !== null) {
    limit = Number(rawLimit);
    if (!/^\d+$/.test(rawLimit) || limit < 1 || limit > LIST_MAX)
      errors.push({ field: 'limit', message: `must be an integer from 1 to ${LIST_MAX}` });
  }
  const include = query.get('include');
  if (include !== null && include.split(',').some((v) => v.trim() !== 'total_count')) {
    errors.push({ field: 'include', message: 'the only supported value is total_count' });
  }
  let cursor: RestCursor | undefined;
  const rawCursor = query.get('cursor');
  if (rawCursor !== null) {
    try {
      cursor = decodeCursor(rawCursor, isRestCursor);
    } catch {
      errors.push({ field: 'cursor', message: 'is not a cursor returned by this API' });
    }
  }
  const filters: ListFilters = {};
  const status = enumList(query.get('status'), KycStatus, 'status', errors);
  if (status) filters.status = status;
  const aml = enumList(query.get('aml_status'), AmlStatus, 'aml_status', errors);
  if (aml) filters.aml_status = aml;
  const since = query.get('updated_since');
  if (since !== null) {
    if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(since) || Number.isNaN(Date.parse(since))) {
      errors.push({ field: 'updated_since', message: 'must be an ISO-8601 timestamp' });
    } else filters.updated_since = new Date(since).toISOString();
  }
  const externalId = query.get('external_id');
  if (externalId !== null) filters.external_id = externalId;
  if (errors.length) throw validationFailed(errors);
  return { limit, filters, cursor, includeTotal: include !== null };
}

function domainFilter(f: ListFilters): CustomerFilter {
  return {
    kycStatus: f.status,
    amlStatus: f.aml_status,
    updatedSince: f.updated_since ? new Date(f.updated_since) : undefined,
    externalId: f.external_id,
  };
}

async function list(req: RestRequest): Promise<RestResponse> {
  const { limit, filters: queryFilters, cursor, includeTotal } = parseListQuery(req.query);
  // A cursor keeps the filters of the first page; filters sent along with it are ignored.
  const filters = cursor ? cursor.f : queryFilters;
  const filter = domainFilter(filters);
  const { prisma } = req.services.db;
  const orgId = req.principal.orgId;
  let page;
  try {
    page = await listCustomers(prisma, orgId, { filter, first: limit, after: cursor?.p });
  } catch (error) {
    if (error instanceof InvalidCursorError) throw validationFailed([{ field: 'cursor', message: 'is not a cursor returned by this API' }]);
    throw error;
  }
  const last = page.rows.at(-1);
  const body: ListEnvelope = {
    object: 'list',
    data: page.rows.map((r) => renderCustomer(toPublicCustomer(r))),
    has_more: page.hasMore,
    next_cursor: page.hasMore && last ? encodeCursor({ p: cursorOf(last, page.order), f: filters } satisfies RestCursor) : null,
    limit,
  };
  if (includeTotal) body.total_count = await countCustomers(prisma, orgId, filter);
  return { status: 200, body };
}

async function getOne(req: RestRequest): Promise<RestResponse> {
  const row = await findCustomer(req.services.db.prisma, req.principal.orgId, req.params.id!);
  if (!row) throw notFound();
  return { status: 200, body: renderCustomer(toPublicCustomer(row)) };
}

async function getAml(req: RestRequest): Promise<RestResponse> {
  const row = await findCustomer(req.services.db.prisma, req.principal.orgId, req.params.id!);
  if (!row) throw notFound();
  return { status: 200, body: renderAml(amlOf(row)) };
}

/** The read routes of /api/v1/customers. */
export const customerReadRoutes: Route[] = [
  { method: 'GET', path: '/customers', scope: Scope.CustomersRead, handler: list },
  { method: 'GET', path: '/customers/{id}/aml', scope: Scope.AmlRead, handler: getAml },
  { method: 'GET', path: '/customers/{id}', scope: Scope.CustomersRead, handler: getOne },
];
