// Read side of customers: lookups, keyset-paginated lists and dashboard counts. Every query
// is scoped by orgId: another organisation's record is indistinguishable from a missing one.
import type { PrismaClient } from '../db/client.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';
import { InvalidCursorError, decodeCursor, encodeCursor } from '../lib/cursor.js';
import { isUuid } from '../lib/ids.js';
import type { Customer } from './dto.js';

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
export const DEFAULT_ORDER: CustomerOrder = { field: 'CREATED_AT', direction: 'ASC' };

/** Position of a row in a keyset walk: the sort value and the id tie-breaker. */
interface Position {
  o: string;
  t: string;
  i: string;
}
const isPosition = (v: unknown): v is Position => {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.o === 'string' && typeof p.t === 'string' && typeof p.i === 'string' && !Number.isNaN(Date.parse(p.t)) && isUuid(p.i);
};

const orderKey = (order: CustomerOrder) => `${order.field}:${order.direction}`;
const column = (order: CustomerOrder) => (order.field === 'CREATED_AT' ? 'createdAt' : 'updatedAt');

/** The cursor of a row for a given order. */
export function cursorOf(row: Customer, order: CustomerOrder): string {
  return encodeCursor({ o: orderKey(order), t: row[column(order)].toISOString(), i: row.id } satisfies Position);
}

/** Finds a customer by UUID or external id (told apart by shape), within the organisation. */
export function findCustomerWhere(orgId: string, idOrExternalId: string): Prisma.CustomerWhereInput {
  return isUuid(idOrExternalId)
    ? { orgId, OR: [{ id: idOrExternalId.toLowerCase() }, { externalId: idOrExternalId }] }
    : { orgId, externalId: idOrExternalId };
}

/** One customer of the organisation, or null. `select`/`include` lets GraphQL narrow the columns. */
export async function findCustomer(prisma: PrismaClient, orgId: string, idOrExternalId: string): Promise<Customer | null> {
  return prisma.customer.findFirst({ where: findCustomerWhere(orgId, idOrExternalId) });
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The Prisma filter of a CustomerFilter, always scoped to the organisation. */
export function customerWhere(orgId: string, filter: CustomerFilter = {}): Prisma.CustomerWhereInput {
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
    const pos = decodeCursor(args.after, isPosition);
    if (pos.o !== orderKey(order)) throw new InvalidCursorError();
    const t = new Date(pos.t);
    const cmp = dir === 'asc' ? 'gt' : 'lt';
    where.AND = [
      ...((where.AND as Prisma.CustomerWhereInput[] | undefined) ?? []),
      { OR: [{ [col]: { [cmp]: t } }, { [col]: t, id: { [cmp]: pos.i } }] },
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
