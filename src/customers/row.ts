// The customer row: its one column list, the statements that lock and read, insert or change
// whole rows (built from that list), the email key, and a row rebuilt from a public snapshot.
//
// The list maps every field of the Prisma model to its column and SQL type. `satisfies` makes a
// new field of the model a compile error until it is listed here, and test/customer-row.test.ts
// holds the list against the table the migrations build, so hand-written SQL cannot forget or
// misname a column.
import type { Tx } from '../db/client.js';
import { WriteStatement } from '../db/write-statements.js';
import { Prisma, type Customer } from '../generated/prisma/client.js';
import { AddedVia, AmlStatus, KycStatus } from '../generated/prisma/enums.js';
import type { PublicCustomer } from '../projection/customer.js';

export type { Customer };

/** SQL types of the customer columns: parameters are cast to them; enums are read back as text. */
type ColumnType = 'uuid' | 'text' | 'boolean' | 'timestamptz' | '"CustomerType"' | '"KycStatus"' | '"AmlStatus"' | '"AddedVia"';

/** Every column of the customers table, by its field of the Prisma model. */
export const CUSTOMER_COLUMNS = {
  id: { column: 'id', type: 'uuid' },
  orgId: { column: 'org_id', type: 'uuid' },
  externalId: { column: 'external_id', type: 'text' },
  type: { column: 'type', type: '"CustomerType"' },
  fullName: { column: 'full_name', type: 'text' },
  email: { column: 'email', type: 'text' },
  emailKey: { column: 'email_key', type: 'text' },
  phone: { column: 'phone', type: 'text' },
  riskIsNewCustomer: { column: 'risk_is_new_customer', type: 'boolean' },
  riskIsDesignatedService: { column: 'risk_is_designated_service', type: 'boolean' },
  riskHandlesCashOrCrypto: { column: 'risk_handles_cash_or_crypto', type: 'boolean' },
  kycStatus: { column: 'kyc_status', type: '"KycStatus"' },
  kycStartedAt: { column: 'kyc_started_at', type: 'timestamptz' },
  kycCompletedAt: { column: 'kyc_completed_at', type: 'timestamptz' },
  verifiedLegalName: { column: 'verified_legal_name', type: 'text' },
  verifiedCountry: { column: 'verified_country', type: 'text' },
  amlStatus: { column: 'aml_status', type: '"AmlStatus"' },
  amlScreenedAt: { column: 'aml_screened_at', type: 'timestamptz' },
  amlLastReviewedAt: { column: 'aml_last_reviewed_at', type: 'timestamptz' },
  amlPep: { column: 'aml_pep', type: 'boolean' },
  amlSanctions: { column: 'aml_sanctions', type: 'boolean' },
  amlAdverseMedia: { column: 'aml_adverse_media', type: 'boolean' },
  amlTerrorism: { column: 'aml_terrorism', type: 'boolean' },
  addedVia: { column: 'added_via', type: '"AddedVia"' },
  createdAt: { column: 'created_at', type: 'timestamptz' },
  updatedAt: { column: 'updated_at', type: 'timestamptz' },
} as const satisfies { readonly [F in keyof Customer]: { readonly column: string; readonly type: ColumnType } };

type Field = keyof Customer;
/** The fields in the list's order (the literal above has exactly the model's fields). */
const FIELDS = Object.keys(CUSTOMER_COLUMNS) as Field[];
const isEnum = (type: ColumnType) => type.startsWith('"');

/** A value as a parameter of its column's type (enums pass through text, which every driver sends). */
function param(field: Field, value: Customer[Field]): Prisma.Sql {
  const { type } = CUSTOMER_COLUMNS[field];
  return Prisma.sql`${value}::${Prisma.raw(isEnum(type) ? `text::${type}` : type)}`;
}

/** Every column, named like the model's fields (enums as text), for raw reads of whole rows. */
const SELECT_ROW = Prisma.raw(
  FIELDS.map((f) => {
    const { column, type } = CUSTOMER_COLUMNS[f];
    return `${column}${isEnum(type) ? '::text' : ''} AS "${f}"`;
  }).join(', '),
);

/** Which customers of an organisation a write locks: any id, external id or email key listed. */
export interface CustomerMatch {
  ids?: readonly string[];
  externalIds?: readonly string[];
  emailKeys?: readonly string[];
}

/**
 * Locks (FOR UPDATE) and reads the customers of the organisation that `match` names, whole, in
 * one statement. Callers that serialise on natural keys take those locks first, in an earlier
 * statement: this statement's snapshot then sees every row committed by whoever held them.
 */
export function lockCustomers(tx: Tx, orgId: string, match: CustomerMatch): Promise<Customer[]> {
  return tx.$queryRaw<Customer[]>(lockCustomersStatement(orgId, match));
}

/**
 * lockCustomers' statement, shaped so that its plan reads only the rows the keys name. The
 * planner's statistics lag behind a tenant (autovacuum analyzes after a tenth of the table has
 * changed; the embedded database only when told): during a new tenant's first import they do not
 * know its organisation and estimate it at one row. Written as one filter (`org_id = … AND (id =
 * … OR external_id = … OR email_key = …)`), a scan of org_id alone then looked cheaper than the
 * three key lookups, and every write read all of the organisation's customers: an import of n
 * customers read n²/2 rows (test/customer-row.test.ts). So:
 * - each key is its own lookup, which its unique index serves with both columns;
 * - the organisation reaches those lookups as a subquery's value, which the planner estimates as
 *   an average organisation rather than from its list of known ones; against that, a scan of
 *   org_id alone no longer ties with the unique index (with the value itself it still chose the
 *   other key's index and filtered);
 * - the id lookup leaves org_id out (the primary key serves it) and the organisation is checked
 *   on the rows found, where no index can take it (IS TRUE): another organisation's id locks
 *   nothing;
 * - the rows are then locked by primary key.
 * What remains: statistics that say every org_id is distinct (a table analyzed while each
 * organisation had one customer), or none at all on a table vacuumed while nearly empty and never
 * analyzed since (autovacuum off), estimate an organisation at one row however the statement is
 * written; the lookups then tie with a scan of org_id alone and may take it (bench/README.md,
 * "third pass").
 */
export function lockCustomersStatement(orgId: string, match: CustomerMatch): Prisma.Sql {
  return Prisma.sql`
    SELECT ${SELECT_ROW} FROM customers
    WHERE id = ANY(ARRAY(
        SELECT id FROM customers WHERE id = ANY(${match.ids ?? []}::uuid[])
        UNION ALL SELECT id FROM customers WHERE org_id = (SELECT ${orgId}::uuid) AND external_id = ANY(${match.externalIds ?? []}::text[])
        UNION ALL SELECT id FROM customers WHERE org_id = (SELECT ${orgId}::uuid) AND email_key = ANY(${match.emailKeys ?? []}::text[])))
      AND (org_id = ${orgId}::uuid) IS TRUE
    FOR UPDATE`;
}

/** A write of a customer row and the row it leaves: its event's snapshot is taken from `after`. */
export interface RowWrite {
  statement: WriteStatement;
  after: Customer;
}

/** The INSERT of a new customer, every column from `row` (so what is rendered from `row` is what is stored). */
export function insertCustomer(row: Customer): RowWrite {
  const columns = Prisma.raw(FIELDS.map((f) => CUSTOMER_COLUMNS[f].column).join(', '));
  const values = Prisma.join(FIELDS.map((f) => param(f, row[f])));
  return { statement: WriteStatement.of(Prisma.sql`INSERT INTO customers (${columns}) VALUES (${values})`), after: row };
}

/** The columns a write may change (all but the row's identity and times); every key present is a change. */
export type CustomerPatch = Partial<Omit<Customer, 'id' | 'orgId' | 'createdAt' | 'updatedAt'>>;

/**
 * The UPDATE of the columns `patch` changes, and of updatedAt: the clock, and at least 1 ms after
 * the previous value (a standing clock or one that lags another instance's still moves it).
 * `before` is the row as locked by this transaction, so `after` is exactly what is stored.
 */
export function updateCustomer(before: Customer, patch: CustomerPatch, now: Date): RowWrite {
  const after: Customer = { ...before, ...patch, updatedAt: laterThan(before.updatedAt, now) };
  const changed = [...FIELDS.filter((f) => Object.hasOwn(patch, f)), 'updatedAt' as const];
  const assignments = Prisma.join(changed.map((f) => Prisma.sql`${Prisma.raw(CUSTOMER_COLUMNS[f].column)} = ${param(f, after[f])}`));
  return {
    statement: WriteStatement.of(
      Prisma.sql`UPDATE customers SET ${assignments} WHERE org_id = ${before.orgId}::uuid AND id = ${before.id}::uuid`,
    ),
    after,
  };
}

function laterThan(previous: Date, now: Date): Date {
  return now.getTime() > previous.getTime() ? now : new Date(previous.getTime() + 1);
}

/** The lifecycle columns of a customer that has just been created (SPEC section 3). */
export const INITIAL_STATUS = {
  kycStatus: KycStatus.NOT_STARTED,
  kycStartedAt: null,
  kycCompletedAt: null,
  verifiedLegalName: null,
  verifiedCountry: null,
  amlStatus: AmlStatus.NOT_SCREENED,
  amlScreenedAt: null,
  amlLastReviewedAt: null,
  amlPep: false,
  amlSanctions: false,
  amlAdverseMedia: false,
  amlTerrorism: false,
} as const satisfies Partial<Customer>;

/** How records created through the gateway came in; never changed afterwards. */
export const CREATED_VIA = AddedVia.INTEGRATION;

/** Email matching key: trimmed and lower-cased; the stored email keeps the caller's spelling. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

const date = (s: string | null): Date | null => (s ? new Date(s) : null);

/**
 * Rebuilds a customer row from an event snapshot so that the GraphQL `Customer` type can
 * render it without a database read. Write-only fields are unknown there and left empty:
 * they are never rendered anyway.
 */
export function customerFromSnapshot(orgId: string, s: PublicCustomer): Customer {
  return {
    id: s.id,
    orgId,
    externalId: s.externalId,
    type: s.type,
    fullName: s.fullName,
    email: s.email,
    emailKey: s.email === null ? null : normaliseEmail(s.email),
    phone: null,
    riskIsNewCustomer: null,
    riskIsDesignatedService: null,
    riskHandlesCashOrCrypto: null,
    kycStatus: s.kycStatus,
    kycStartedAt: date(s.kycStartedAt),
    kycCompletedAt: date(s.kycCompletedAt),
    verifiedLegalName: s.identity?.verifiedLegalName ?? null,
    verifiedCountry: s.identity?.verifiedCountry ?? null,
    amlStatus: s.aml.status,
    amlScreenedAt: date(s.aml.screenedAt),
    amlLastReviewedAt: date(s.aml.lastReviewedAt),
    amlPep: s.aml.flags.pep,
    amlSanctions: s.aml.flags.sanctions,
    amlAdverseMedia: s.aml.flags.adverseMedia,
    amlTerrorism: s.aml.flags.terrorism,
    addedVia: s.addedVia,
    createdAt: new Date(s.createdAt),
    updatedAt: new Date(s.updatedAt),
  };
}
