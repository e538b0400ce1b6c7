// Read side of customers: lookups, keyset-paginated lists and dashboard counts. Every query
// is scoped by orgId: another organisation's record is indistinguishable from a missing one.
import type { PrismaClient, Tx } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';
import { InvalidCursorError, decodeCursor, encodeCursor } from '../lib/cursor.js';
import type { FieldError } from '../lib/error-codes.js';
import { isUuid } from '../lib/ids.js';
import { checkStorableText, textLength } from '../lib/text.js';
import { parseTimestamp } from '../lib/time.js';
import { historyPageOf, inlineHistorySql, type EventColumns, type HistoryPage } from '../events/history.js';
import { isoOf, type CustomerPublicRow } from '../projection/customer.js';
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

/** Reads a position cursor: its order key, a timestamp PostgreSQL stores and a UUID, or null. */
function readPosition(doc: Record<string, unknown>): { order: string; at: Date; id: string } | null {
  const { o, t, i } = doc;
  if (typeof o !== 'string' || typeof t !== 'string' || typeof i !== 'string' || !isUuid(i)) return null;
  const at = parseTimestamp(t);
  return at ? { order: o, at, id: i } : null;
}

/** The cursor of a row for a given order. */
export function cursorOf(row: Pick<CustomerPublicRow, 'id' | 'createdAt' | 'updatedAt'>, order: CustomerOrder): string {
  const at = order.field === 'CREATED_AT' ? row.createdAt : row.updatedAt;
  return encodeCursor({ o: orderKey(order), t: isoOf(at), i: row.id } satisfies Position);
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

/**
 * The WHERE clause of a CustomerFilter over the customers table aliased `c`, always scoped to the
 * organisation: the one owner of the list's filters, shared by the page, its count and the stats
 * (and of the tenancy condition on them). Every value is a bound parameter.
 */
export function customerFilterSql(orgId: string, filter: CustomerFilter = {}): Prisma.Sql {
  // Values are cast to the columns' types (not the columns to text), so the planner compares like with like.
  const conditions: Prisma.Sql[] = [Prisma.sql`c.org_id = ${orgId}::uuid`];
  if (filter.kycStatus?.length) conditions.push(Prisma.sql`c.kyc_status = ANY(${[...filter.kycStatus]}::text[]::"KycStatus"[])`);
  if (filter.amlStatus?.length) conditions.push(Prisma.sql`c.aml_status = ANY(${[...filter.amlStatus]}::text[]::"AmlStatus"[])`);
  if (filter.updatedSince) conditions.push(Prisma.sql`c.updated_at > ${filter.updatedSince.toISOString()}::timestamptz`);
  if (filter.externalId !== undefined) conditions.push(Prisma.sql`c.external_id = ${filter.externalId}`);
  if (filter.type) conditions.push(Prisma.sql`c.type = ${filter.type}::text::"CustomerType"`);
  if (filter.search !== undefined && filter.search !== '') {
    // ILIKE's escape character is the backslash: wildcards of the search text match literally.
    const pattern = `%${escapeLike(filter.search)}%`;
    conditions.push(Prisma.sql`(c.full_name ILIKE ${pattern} OR c.email ILIKE ${pattern} OR c.external_id ILIKE ${pattern})`);
  }
  return Prisma.join(conditions, ' AND ');
}

/** A timestamp column as ISO text in `toISOString`'s form, so that no row makes a `Date` (the DateTime scalar passes it through). */
const isoText = (col: string) => Prisma.raw(`to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/**
 * The columns of CustomerPublicRow, and only those: never phone, risk answers or email_key. Enums
 * come as text, timestamps as ISO text.
 */
const PUBLIC_COLUMNS = Prisma.sql`c.id::text AS "id", c.external_id AS "externalId", c.type::text AS "type",
  c.full_name AS "fullName", c.email AS "email", c.kyc_status::text AS "kycStatus",
  ${isoText('c.kyc_started_at')} AS "kycStartedAt", ${isoText('c.kyc_completed_at')} AS "kycCompletedAt",
  c.verified_legal_name AS "verifiedLegalName", c.verified_country AS "verifiedCountry", c.aml_status::text AS "amlStatus",
  ${isoText('c.aml_screened_at')} AS "amlScreenedAt", ${isoText('c.aml_last_reviewed_at')} AS "amlLastReviewedAt",
  c.aml_pep AS "amlPep", c.aml_sanctions AS "amlSanctions", c.aml_adverse_media AS "amlAdverseMedia",
  c.aml_terrorism AS "amlTerrorism", c.added_via::text AS "addedVia",
  ${isoText('c.created_at')} AS "createdAt", ${isoText('c.updated_at')} AS "updatedAt"`;

export interface ListArgs {
  filter?: CustomerFilter | undefined;
  order?: CustomerOrder | undefined;
  first?: number | undefined;
  /** Cursor of the last row of the previous page (from cursorOf). */
  after?: string | undefined;
  /**
   * Also read each row's newest `withHistory` events (its first status-history page) in the same
   * statement; the pages are in CustomerPage.histories.
   */
  withHistory?: number | undefined;
}

export interface CustomerPage {
  rows: CustomerPublicRow[];
  hasMore: boolean;
  order: CustomerOrder;
  /** With `withHistory`: each row's first history page of that size, by customer id. */
  histories?: { first: number; pages: Map<string, HistoryPage> } | undefined;
}

/** A page row as the statement answers it: the public columns, and the inlined history when asked for. */
type PageRow = CustomerPublicRow & { history?: EventColumns[] };

/**
 * A keyset page in ONE statement: rows strictly after the cursor's (sort value, id), fetching one
 * extra row to know whether more exist; stable while rows are inserted (nothing is skipped or
 * repeated). Only the public columns are read, and, when asked, each row's newest events.
 */
export async function listCustomers(db: Tx, orgId: string, args: ListArgs): Promise<CustomerPage> {
  const order = args.order ?? DEFAULT_ORDER;
  const first = Math.min(Math.max(args.first ?? LIST_DEFAULT, 0), LIST_MAX);
  const col = Prisma.raw(order.field === 'CREATED_AT' ? 'c.created_at' : 'c.updated_at');
  const dir = Prisma.raw(order.direction === 'ASC' ? 'ASC' : 'DESC');
  let where = customerFilterSql(orgId, args.filter);
  if (args.after !== undefined) {
    const pos = decodeCursor(args.after, readPosition);
    if (pos.order !== orderKey(order)) throw new InvalidCursorError();
    const cmp = Prisma.raw(order.direction === 'ASC' ? '>' : '<');
    where = Prisma.sql`${where} AND (${col}, c.id) ${cmp} (${pos.at.toISOString()}::timestamptz, ${pos.id}::uuid)`;
  }
  if (first === 0) return { rows: [], hasMore: false, order };
  const k = args.withHistory;
  const history = k === undefined ? Prisma.empty : Prisma.sql`, ${inlineHistorySql(k)} AS "history"`;
  const rows = await db.$queryRaw<PageRow[]>`
    SELECT ${PUBLIC_COLUMNS}${history}
    FROM customers c
    WHERE ${where}
    ORDER BY ${col} ${dir}, c.id ${dir}
    LIMIT ${first + 1}`;
  const hasMore = rows.length > first;
  const pageRows = hasMore ? rows.slice(0, first) : rows;
  if (k === undefined) return { rows: pageRows, hasMore, order };
  const pages = new Map<string, HistoryPage>();
  // The rows keep their `history` property (a delete would turn each into a slow dictionary-mode object); nothing renders it.
  for (const row of pageRows) pages.set(row.id, historyPageOf(row.history ?? [], k));
  return { rows: pageRows, hasMore, order, histories: { first: k, pages } };
}

/** Number of customers matching a filter (only run when a caller asks for it). */
export async function countCustomers(db: Tx, orgId: string, filter?: CustomerFilter): Promise<number> {
  const [row] = await db.$queryRaw<
    { count: number }[]
  >`SELECT count(*)::int AS "count" FROM customers c WHERE ${customerFilterSql(orgId, filter)}`;
  return row?.count ?? 0;
}

export interface CustomerStats {
  total: number;
  kyc: { status: KycStatus; count: number }[];
  aml: { status: AmlStatus; count: number }[];
}

/** Counts per KYC status and per AML status, every status listed (zero included), in one statement. */
export async function customerStats(
  db: Tx,
  orgId: string,
  filter: CustomerFilter,
  kycStatuses: readonly KycStatus[],
  amlStatuses: readonly AmlStatus[],
): Promise<CustomerStats> {
  // One grouping set per status kind: a row has either kyc or aml set (the other null).
  const groups = await db.$queryRaw<{ kyc: KycStatus | null; aml: AmlStatus | null; count: number }[]>`
    SELECT c.kyc_status::text AS "kyc", c.aml_status::text AS "aml", count(*)::int AS "count"
    FROM customers c
    WHERE ${customerFilterSql(orgId, filter)}
    GROUP BY GROUPING SETS ((c.kyc_status), (c.aml_status))`;
  const kycMap = new Map<KycStatus, number>();
  const amlMap = new Map<AmlStatus, number>();
  let total = 0;
  for (const g of groups) {
    if (g.kyc !== null) {
      kycMap.set(g.kyc, g.count);
      total += g.count;
    } else if (g.aml !== null) amlMap.set(g.aml, g.count);
  }
  return {
    total,
    kyc: kycStatuses.map((status) => ({ status, count: kycMap.get(status) ?? 0 })),
    aml: amlStatuses.map((status) => ({ status, count: amlMap.get(status) ?? 0 })),
  };
}
