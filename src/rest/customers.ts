// /api/v1/customers handlers: parse the request, call one domain function, render.
import { Scope } from '../auth/scopes.js';
import type { Customer } from '../customers/row.js';
import { amlOf, toPublicCustomer } from '../projection/customer.js';
import {
  checkCustomerRef,
  checkFilterText,
  countCustomers,
  cursorOf,
  findCustomer,
  listCustomers,
  LIST_DEFAULT,
  LIST_MAX,
  type CustomerFilter,
} from '../customers/queries.js';
import { AmlStatus, KycStatus } from '../generated/prisma/enums.js';
import { decodeCursor, encodeCursor, InvalidCursorError, isDocument } from '../lib/cursor.js';
import type { FieldError } from '../lib/error-codes.js';
import { parseTimestamp, TIMESTAMP_FORMAT } from '../lib/time.js';
import { notFound, validationFailed } from './errors.js';
import { renderAml, renderCustomer, type RestCustomer } from './render.js';
import type { RestRequest, RestResponse, Route } from './router.js';

/** Filters a REST cursor carries from the first page to every later one (their parsed form). */
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

/** The filter parameters as text: from the query string, or read back from a cursor. */
type FilterParams = { [K in keyof ListFilters]?: string };
/** Filters a cursor keeps as lists; the others it keeps as text. */
const LIST_FILTERS: ReadonlySet<string> = new Set(['status', 'aml_status']);
const FILTER_NAMES = ['status', 'aml_status', 'updated_since', 'external_id'] as const satisfies readonly (keyof ListFilters)[];
const isFilterName = (name: string): name is keyof ListFilters => FILTER_NAMES.some((n) => n === name);
const CURSOR_MESSAGE = 'is not a cursor returned by this API';

export interface ListEnvelope {
  object: 'list';
  data: RestCustomer[];
  has_more: boolean;
  next_cursor: string | null;
  limit: number;
  total_count?: number;
}

function enumList<T extends string>(
  raw: string | undefined,
  allowed: Record<string, T>,
  field: string,
  errors: FieldError[],
): T[] | undefined {
  if (raw === undefined) return undefined;
  // The enum's values, not `v in allowed`: `toString` or `__proto__` are found in any object.
  const known: readonly T[] = Object.values(allowed);
  const values = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const valid = values.flatMap((v) => known.filter((k) => k === v));
  if (values.length === 0 || valid.length !== values.length) {
    errors.push({ field, message: `must be one or more of ${known.join(', ')} (comma-separated)` });
    return undefined;
  }
  return valid;
}

/** Parses the filter parameters; the one parser of the query string and of a cursor's filters. */
function parseFilters(params: FilterParams, errors: FieldError[]): ListFilters {
  const filters: ListFilters = {};
  const status = enumList(params.status, KycStatus, 'status', errors);
  if (status) filters.status = status;
  const aml = enumList(params.aml_status, AmlStatus, 'aml_status', errors);
  if (aml) filters.aml_status = aml;
  if (params.updated_since !== undefined) {
    const since = parseTimestamp(params.updated_since);
    if (since) filters.updated_since = since.toISOString();
    else errors.push({ field: 'updated_since', message: `must be ${TIMESTAMP_FORMAT}` });
  }
  if (params.external_id !== undefined) {
    const problem = checkFilterText(params.external_id, 'external_id');
    if (problem) errors.push(problem);
    else filters.external_id = params.external_id;
  }
  return filters;
}

/**
 * Reads a cursor document: the position (checked when listCustomers decodes it) and the
 * filters, re-parsed by parseFilters so that a forged cursor cannot carry a value the query
 * string would refuse. Null when anything is not what this API issues.
 */
function readRestCursor(doc: Record<string, unknown>): RestCursor | null {
  const { p, f } = doc;
  if (typeof p !== 'string' || !isDocument(f)) return null;
  const params: FilterParams = {};
  for (const [name, value] of Object.entries(f)) {
    if (!isFilterName(name)) return null;
    if (LIST_FILTERS.has(name)) {
      if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) return null;
      params[name] = value.join(',');
    } else {
      if (typeof value !== 'string') return null;
      params[name] = value;
    }
  }
  const errors: FieldError[] = [];
  const filters = parseFilters(params, errors);
  return errors.length ? null : { p, f: filters };
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
      cursor = decodeCursor(rawCursor, readRestCursor);
    } catch {
      errors.push({ field: 'cursor', message: CURSOR_MESSAGE });
    }
  }
  const params: FilterParams = {};
  for (const name of FILTER_NAMES) {
    const value = query.get(name);
    if (value !== null) params[name] = value;
  }
  const filters = parseFilters(params, errors);
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
  const { statements } = req.services.db;
  const orgId = req.principal.orgId;
  let page;
  try {
    page = await listCustomers(statements, orgId, { filter, first: limit, after: cursor?.p });
  } catch (error) {
    if (error instanceof InvalidCursorError) throw validationFailed([{ field: 'cursor', message: CURSOR_MESSAGE }]);
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
  if (includeTotal) body.total_count = await countCustomers(statements, orgId, filter);
  return { status: 200, body };
}

/** The customer the path's {id} names: 422 for text PostgreSQL cannot store, else 404 when there is none. */
async function customerOfPath(req: RestRequest): Promise<Customer> {
  const ref = checkCustomerRef(req.params.id ?? '');
  if (ref.kind === 'invalid') throw validationFailed([ref.fieldError]);
  const row = ref.kind === 'lookup' ? await findCustomer(req.services.db.prisma, req.principal.orgId, ref.ref) : null;
  if (!row) throw notFound();
  return row;
}

async function getOne(req: RestRequest): Promise<RestResponse> {
  return { status: 200, body: renderCustomer(toPublicCustomer(await customerOfPath(req))) };
}

async function getAml(req: RestRequest): Promise<RestResponse> {
  return { status: 200, body: renderAml(amlOf(await customerOfPath(req))) };
}

/** The read routes of /api/v1/customers. */
export const customerReadRoutes: Route[] = [
  { method: 'GET', path: '/customers', scope: Scope.CustomersRead, handler: list },
  { method: 'GET', path: '/customers/{id}/aml', scope: Scope.AmlRead, handler: getAml },
  { method: 'GET', path: '/customers/{id}', scope: Scope.CustomersRead, handler: getOne },
];
