// Read side of customers: lookups, keyset-paginated lists and dashboard counts. Every query
// is scoped by orgId: another organisation's record is indistinguishable from a missing one.
import type { PrismaClient } from '../db/client.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';
import { InvalidCursorError, decodeCursor, encodeCursor } from '../lib/cursor.js';
import type { FieldError } from '../lib/error-codes.js';
import { isUuid } from '../lib/ids.js';
import { checkStorableText, textLength } from '../lib/text.js';
import { parseTimestamp } from '../lib/time.js';
import type { Customer, CustomerMatch } from './row.js';
import { EXTERNAL_ID_MAX_LENGTH } from './validation.js';

export const LIST_MAX = 100;
export const LIST_DEFAULT = 50;

export interface CustomerFilter {
  kycStatus?: KycStatus[] | undefined;
  amlStatus?: AmlStatus[] | undefined;
  /** Strictly after. */
  updatedSince?: Date | undefined;
  externalId?: string | undefined;
  type?: CustomerType | undefined;
  /** Case-insensitive substring of name, email or external id. */
  search?: string | undefined;
}

export type OrderField = 'CREATED_AT' | 'UPDATED_AT';
export type OrderDirection = 'ASC' | 'DESC';
export interface CustomerOrder {
  field: OrderField;
  direction: OrderDirection;
}
const DEFAULT_ORDER: CustomerOrder = { field: 'CREATED_AT', direction: 'ASC' };

/** Position of a row in a keyset walk: the order it was issued for, the sort value and the id tie-breaker. */
interface Position {
  o: string;
  t: string;
  i: string;
}

const orderKey = (order: CustomerOrder) => `${order.field}:${order.direction}`;
const column = (order: CustomerOrder) => (order.field === 'CREATED_AT' ? 'createdAt' : 'updatedAt');

/** Reads a position cursor: its order key, a timestamp PostgreSQL stores and a UUID, or null. */
function readPosition(doc: Record<string, unknown>): { order: string; at: Date; id: string } | null {
  const { o, t, i } = doc;
  if (typeof o !== 'string' || typeof t !== 'string' || typeof i !== 'string' || !isUuid(i)) return null;
  const at = parseTimestamp(t);
  return at ? { order: o, at, id: i } : null;
}

/** The cursor of a row for a given order. */
export function cursorOf(row: Pick<Customer, 'id' | 'createdAt' | 'updatedAt'>, order: CustomerOrder): string {
  return encodeCursor({ o: orderKey(order), t: row[column(order)].toISOString(), i: row.id } satisfies Position);
}

/** Longest reference that can name a customer: an external id (a UUID has 36 characters). */
const CUSTOMER_REF_MAX_LENGTH = EXTERNAL_ID_MAX_LENGTH;

/** What a client's customer reference (UUID or external id, from a path or an argument) can be. */
export type CustomerRef =
  /** Look it up (findCustomerWhere). */
  | { kind: 'lookup'; ref: string }
  /** Empty, or longer than any id or external id: it names no customer, so nothing is looked up. */
  | { kind: 'none' }
  /** Text PostgreSQL cannot store: a validation error naming the field (SPEC section 9). */
  | { kind: 'invalid'; fieldError: FieldError };

/**
 * Checks a customer reference before any statement. A reference that cannot exist is not
 * found, like any other that names nothing (REST 404, GraphQL null or CustomerNotFoundError):
 * the client asked about a customer, and there is none. Only unstorable text is an input error.
 */
export function checkCustomerRef(ref: string, field = 'id'): CustomerRef {
  const fieldError = checkStorableText(ref, field);
  if (fieldError) return { kind: 'invalid', fieldError };
  const length = textLength(ref);
  return length === 0 || length > CUSTOMER_REF_MAX_LENGTH ? { kind: 'none' } : { kind: 'lookup', ref };
}

/** Longest filter text that can match anything: every column a filter reads holds at most 255 characters. */
export const FILTER_TEXT_MAX_LENGTH = 255;

/**
 * Checks the text of a filter (an external id, a search string): storable, and no longer than
 * anything it could match. Longer text is refused rather than sent: it can match nothing, and a
 * megabyte ILIKE pattern is real work for the database on every row.
 */
export function checkFilterText(text: string, field: string): FieldError | null {
  const unstorable = checkStorableText(text, field);
  if (unstorable) return unstorable;
  return textLength(text) > FILTER_TEXT_MAX_LENGTH ? { field, message: `must be at most ${FILTER_TEXT_MAX_LENGTH} characters` } : null;
}

/** Finds a customer by UUID or external id (told apart by shape), within the organisation. */
export function findCustomerWhere(orgId: string, idOrExternalId: string): Prisma.CustomerWhereInput {
  return isUuid(idOrExternalId)
    ? { orgId, OR: [{ id: idOrExternalId.toLowerCase() }, { externalId: idOrExternalId }] }
    : { orgId, externalId: idOrExternalId };
}

/** A reference as the customers a write locks (customers/row.ts lockCustomers): the id and the external id it may be. */
export function matchRef(ref: string): CustomerMatch {
  return isUuid(ref) ? { ids: [ref.toLowerCase()], externalIds: [ref] } : { externalIds: [ref] };
}

/** The customer a reference names among those locked: the one whose id matches wins over an external id. */
export function pickRef(customers: readonly Customer[], ref: string): Customer | null {
  const id = ref.toLowerCase();
  return customers.find((c) => c.id === id) ?? customers.find((c) => c.externalId === ref) ?? null;
}

/** One customer of the organisation, or null. `select`/`include` lets GraphQL narrow the columns. */
export async function findCustomer(prisma: PrismaClient, orgId: string, idOrExternalId: string): Promise<Customer | null> {
  return prisma.customer.findFirst({ where: findCustomerWhere(orgId, idOrExternalId) });
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The Prisma filter of a CustomerFilter, always scoped to the organisation. */
function customerWhere(orgId: string, filter: CustomerFilter = {}): Prisma.CustomerWhereInput {
  const where: Prisma.CustomerWhereInput = { orgId };
  const and: Prisma.CustomerWhereInput[] = [];
  if (filter.kycStatus?.length) where.kycStatus = { in: filter.kycStatus };
  if (filter.amlStatus?.length) where.amlStatus = { in: filter.amlStatus };
  if (filter.updatedSince) where.updatedAt = { gt: filter.updatedSince };
  if (filter.externalId !== undefined) where.externalId = filter.externalId;
  if (filter.type) where.type = filter.type;
  if (filter.search !== undefined && filter.search !== '') {
    // Prisma escapes nothing inside `contains`, so wildcard characters are escaped here.
    const contains = escapeLike(filter.search);
    and.push({
      OR: [
        { fullName: { contains, mode: 'insensitive' } },
        { email: { contains, mode: 'insensitive' } },
        { externalId: { contains, mode: 'insensitive' } },
      ],
    });
  }
  if (and.length) where.AND = and;
  return where;
}

export interface ListArgs {
  filter?: CustomerFilter | undefined;
  order?: CustomerOrder | undefined;
  first?: number | undefined;
  /** Cursor of the last row of the previous page (from cursorOf). */
  after?: string | undefined;
}

export interface CustomerPage {
  rows: Customer[];
  hasMore: boolean;
  order: CustomerOrder;
}

/**
 * A keyset page: rows strictly after the cursor's (sort value, id), fetching one extra row to
 * know whether more exist. Stable while rows are inserted: nothing is skipped or repeated.
 */
export async function listCustomers(prisma: PrismaClient, orgId: string, args: ListArgs): Promise<CustomerPage> {
  const order = args.order ?? DEFAULT_ORDER;
  const first = Math.min(Math.max(args.first ?? LIST_DEFAULT, 0), LIST_MAX);
  const where = customerWhere(orgId, args.filter);
  const col = column(order);
  const dir = order.direction === 'ASC' ? 'asc' : 'desc';
  if (args.after !== undefined) {
    const pos = decodeCursor(args.after, readPosition);
    if (pos.order !== orderKey(order)) throw new InvalidCursorError();
    const cmp = dir === 'asc' ? 'gt' : 'lt';
    where.AND = [
      ...((where.AND as Prisma.CustomerWhereInput[] | undefined) ?? []),
      { OR: [{ [col]: { [cmp]: pos.at } }, { [col]: pos.at, id: { [cmp]: pos.id } }] },
    ];
  }
  if (first === 0) return { rows: [], hasMore: false, order };
  const rows = await prisma.customer.findMany({
    where,
    orderBy: [{ [col]: dir }, { id: dir }],
    take: first + 1,
  });
  const hasMore = rows.length > first;
  return { rows: hasMore ? rows.slice(0, first) : rows, hasMore, order };
}

/** Number of customers matching a filter (only run when a caller asks for it). */
export function countCustomers(prisma: PrismaClient, orgId: string, filter?: CustomerFilter): Promise<number> {
  return prisma.customer.count({ where: customerWhere(orgId, filter) });
}

export interface CustomerStats {
  total: number;
  kyc: { status: KycStatus; count: number }[];
  aml: { status: AmlStatus; count: number }[];
}

/** Counts per KYC status and per AML status, every status listed (zero included). */
export async function customerStats(
  prisma: PrismaClient,
  orgId: string,
  filter: CustomerFilter,
  kycStatuses: readonly KycStatus[],
  amlStatuses: readonly AmlStatus[],
): Promise<CustomerStats> {
  const where = customerWhere(orgId, filter);
  const [kyc, aml] = await Promise.all([
    prisma.customer.groupBy({ by: ['kycStatus'], where, _count: { _all: true } }),
    prisma.customer.groupBy({ by: ['amlStatus'], where, _count: { _all: true } }),
  ]);
  const kycMap = new Map(kyc.map((g) => [g.kycStatus, g._count._all]));
  const amlMap = new Map(aml.map((g) => [g.amlStatus, g._count._all]));
  return {
    total: kyc.reduce((n, g) => n + g._count._all, 0),
    kyc: kycStatuses.map((status) => ({ status, count: kycMap.get(status) ?? 0 })),
    aml: amlStatuses.map((status) => ({ status, count: amlMap.get(status) ?? 0 })),
  };
}
