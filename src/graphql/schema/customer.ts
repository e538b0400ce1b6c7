// The Customer type (public fields only, SPEC section 3) and the read queries of dashboards:
// customer, customers (Relay connection), customerAml, customerStats.
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { HISTORY_MAX } from '../../events/history.js';
import { Scope } from '../../auth/scopes.js';
import {
  ADDED_VIA_DOCS,
  AML_FIELD_DOCS,
  AML_FLAG_DOCS,
  AML_STATUS_DOCS,
  CUSTOMER_FIELD_DOCS,
  CUSTOMER_TYPE_DOCS,
  IDENTITY_FIELD_DOCS,
  KYC_STATUS_DOCS,
} from '../../customers/descriptions.js';
import { amlOf, identityOf, type CustomerPublicRow, type PublicAml, type PublicIdentity } from '../../projection/customer.js';
import {
  LIST_DEFAULT,
  LIST_MAX,
  countCustomers,
  cursorOf,
  customerStats,
  findCustomer,
  findCustomerWhere,
  listCustomers,
  type CustomerFilter as DomainFilter,
  type CustomerPage,
} from '../../customers/queries.js';
import { AddedVia, AmlStatus, CustomerType, KycStatus } from '../../generated/prisma/enums.js';
import { builder, CONNECTION_EDGES_COST } from '../builder.js';
import { GraphQLErrorCode, principalOf } from '../context.js';
import { nestedFieldArgs } from '../selection.js';
import { assertFilterArgs, customerRefArg } from './arguments.js';

/** Per-value descriptions of an enum, in the form Pothos takes them (`values: { X: { description } }`). */
export function describeValues<V extends string>(docs: Readonly<Record<V, string>>): Record<V, { description: string }> {
  const values = {} as Record<V, { description: string }>;
  for (const value of Object.keys(docs) as V[]) values[value] = { description: docs[value] };
  return values;
}

export const KycStatusEnum = builder.enumType(KycStatus, {
  name: 'KycStatus',
  description: 'KYC (identity verification) status. Integrators read it; only the back office moves it (transitionKyc).',
  values: describeValues(KYC_STATUS_DOCS),
});
export const AmlStatusEnum = builder.enumType(AmlStatus, {
  name: 'AmlStatus',
  description:
    'AML (anti-money-laundering) screening status. Integrators read it; only the back office moves it (recordAmlScreening), once KYC is VERIFIED.',
  values: describeValues(AML_STATUS_DOCS),
});
export const CustomerTypeEnum = builder.enumType(CustomerType, {
  name: 'CustomerType',
  description: 'The kind of customer; chosen on creation and never changed.',
  values: describeValues(CUSTOMER_TYPE_DOCS),
});
export const AddedViaEnum = builder.enumType(AddedVia, {
  name: 'AddedVia',
  description: 'The channel a customer record came from.',
  values: describeValues(ADDED_VIA_DOCS),
});

const AmlFlags = builder.objectRef<PublicAml['flags']>('AmlFlags').implement({
  description: 'The findings of the last AML screening result: each flag is true when that kind of match was found.',
  fields: (t) => ({
    pep: t.exposeBoolean('pep', { description: AML_FLAG_DOCS.pep }),
    sanctions: t.exposeBoolean('sanctions', { description: AML_FLAG_DOCS.sanctions }),
    adverseMedia: t.exposeBoolean('adverseMedia', { description: AML_FLAG_DOCS.adverseMedia }),
    terrorism: t.exposeBoolean('terrorism', { description: AML_FLAG_DOCS.terrorism }),
  }),
});

export const CustomerAml = builder.objectRef<PublicAml>('CustomerAml').implement({
  description: 'The AML block of a customer: its screening status, when it was screened and reviewed, and what was found.',
  fields: (t) => ({
    status: t.field({ type: AmlStatusEnum, description: AML_FIELD_DOCS.status, resolve: (a) => a.status }),
    screenedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: AML_FIELD_DOCS.screenedAt,
      resolve: (a) => a.screenedAt,
    }),
    lastReviewedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: AML_FIELD_DOCS.lastReviewedAt,
      resolve: (a) => a.lastReviewedAt,
    }),
    flags: t.field({ type: AmlFlags, description: AML_FIELD_DOCS.flags, resolve: (a) => a.flags }),
  }),
});

const VerifiedIdentity = builder.objectRef<PublicIdentity>('VerifiedIdentity').implement({
  description: 'The identity established by KYC; present only while the customer is VERIFIED.',
  fields: (t) => ({
    verifiedLegalName: t.exposeString('verifiedLegalName', { description: IDENTITY_FIELD_DOCS.verifiedLegalName }),
    verifiedCountry: t.exposeString('verifiedCountry', { description: IDENTITY_FIELD_DOCS.verifiedCountry }),
  }),
});

// A plain object type over the public columns (not a plugin-prisma object): the list's page is
// read by its own statement (customers/queries.ts) with only those columns, and a Prisma row
// (a write's result, a lookup) is a CustomerPublicRow too.
export const CustomerObject = builder.objectRef<CustomerPublicRow>('Customer').implement({
  description:
    'A customer of your organisation: its public fields only. Phone and risk answers are write-only (never returned); no date of birth, address, raw screening data or internal id is ever exposed.',
  fields: (t) => ({
    id: t.exposeID('id', { description: CUSTOMER_FIELD_DOCS.id }),
    externalId: t.exposeString('externalId', { nullable: true, description: CUSTOMER_FIELD_DOCS.externalId }),
    type: t.expose('type', { type: CustomerTypeEnum, description: CUSTOMER_FIELD_DOCS.type }),
    fullName: t.exposeString('fullName', { description: CUSTOMER_FIELD_DOCS.fullName }),
    email: t.exposeString('email', { nullable: true, description: CUSTOMER_FIELD_DOCS.email }),
    kycStatus: t.expose('kycStatus', { type: KycStatusEnum, description: CUSTOMER_FIELD_DOCS.kycStatus }),
    kycStartedAt: t.expose('kycStartedAt', { type: 'DateTime', nullable: true, description: CUSTOMER_FIELD_DOCS.kycStartedAt }),
    kycCompletedAt: t.expose('kycCompletedAt', { type: 'DateTime', nullable: true, description: CUSTOMER_FIELD_DOCS.kycCompletedAt }),
    identity: t.field({ type: VerifiedIdentity, nullable: true, description: CUSTOMER_FIELD_DOCS.identity, resolve: (c) => identityOf(c) }),
    aml: t.field({
      type: CustomerAml,
      description: `${CUSTOMER_FIELD_DOCS.aml} Readable here with customers:read; keys with only aml:read use Query.customerAml.`,
      resolve: (c) => amlOf(c),
    }),
    addedVia: t.expose('addedVia', { type: AddedViaEnum, description: CUSTOMER_FIELD_DOCS.addedVia }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: CUSTOMER_FIELD_DOCS.createdAt }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: CUSTOMER_FIELD_DOCS.updatedAt }),
  }),
});

export const CustomerFilterInput = builder.inputType('CustomerFilter', {
  description: 'Narrows a customer list or its counts. Every field given must match (AND); a field left out or null filters nothing.',
  fields: (t) => ({
    kycStatus: t.field({
      type: [KycStatusEnum],
      required: false,
      description: 'Only customers in one of these KYC statuses; an empty list filters nothing.',
    }),
    amlStatus: t.field({
      type: [AmlStatusEnum],
      required: false,
      description: 'Only customers in one of these AML statuses; an empty list filters nothing.',
    }),
    updatedSince: t.field({
      type: 'DateTime',
      required: false,
      description: 'Only customers updated strictly after this instant (ISO-8601; an offset is converted to UTC).',
    }),
    externalId: t.string({ required: false, description: 'Only the customer with exactly this external id (case-sensitive).' }),
    type: t.field({ type: CustomerTypeEnum, required: false, description: 'Only customers of this type.' }),
    search: t.string({
      required: false,
      description: 'Case-insensitive substring of the full name, email or external id; % and _ are matched literally.',
    }),
  }),
});

const OrderFieldEnum = builder.enumType('CustomerOrderField', {
  description: 'The timestamp a customer list is sorted by; ties are broken by id, so the order is total and stable.',
  values: {
    CREATED_AT: { description: 'By creation time (createdAt).' },
    UPDATED_AT: { description: 'By last change (updatedAt).' },
  } as const,
});
const OrderDirectionEnum = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: {
    ASC: { description: 'Oldest first.' },
    DESC: { description: 'Newest first.' },
  } as const,
});
const CustomerOrderInput = builder.inputType('CustomerOrder', {
  description: 'The order of a customer list. A cursor is bound to the order it was issued for.',
  fields: (t) => ({
    field: t.field({
      type: OrderFieldEnum,
      required: true,
      defaultValue: 'CREATED_AT',
      description: 'The timestamp to sort by; CREATED_AT by default.',
    }),
    direction: t.field({ type: OrderDirectionEnum, required: true, defaultValue: 'ASC', description: 'ASC (the default) or DESC.' }),
  }),
});

type FilterArg = typeof CustomerFilterInput.$inferInput | null | undefined;

/** GraphQL filter input → domain filter (nulls mean "not filtered"); text refused by checkFilterText is BAD_USER_INPUT. */
export function toDomainFilter(f: FilterArg): DomainFilter {
  if (!f) return {};
  assertFilterArgs({ 'filter.externalId': f.externalId, 'filter.search': f.search });
  return {
    kycStatus: f.kycStatus ?? undefined,
    amlStatus: f.amlStatus ?? undefined,
    updatedSince: f.updatedSince ?? undefined,
    externalId: f.externalId ?? undefined,
    type: f.type ?? undefined,
    search: f.search ?? undefined,
  };
}

interface CustomerConnectionShape {
  page: CustomerPage;
  /** The page was requested with `after`: it continues an earlier page. */
  continues: boolean;
  /** Counted lazily: only when `totalCount` is selected. */
  totalCount: () => Promise<number>;
}

/** An edge is its row and the page's order: the cursor is encoded only when selected. */
interface CustomerEdgeShape {
  node: CustomerPage['rows'][number];
  order: CustomerPage['order'];
}

const CustomerEdge = builder.objectRef<CustomerEdgeShape>('CustomerEdge').implement({
  description: 'One customer of a page, with its position in the list.',
  fields: (t) => ({
    cursor: t.string({
      description: 'Opaque position of this customer in the list; pass it as `after` to read the customers that follow it.',
      resolve: (e) => cursorOf(e.node, e.order),
    }),
    node: t.field({ type: CustomerObject, description: 'The customer.', resolve: (e) => e.node }),
  }),
});

/** What PageInfo renders: the Relay connection spec's four fields. */
export interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** PageInfo of a forward-only keyset page: its items, whether more follow, and whether it was asked for `after` a cursor. */
export function pageInfoOf<T>(items: readonly T[], hasMore: boolean, continues: boolean, cursor: (item: T) => string): PageInfoShape {
  const first = items.at(0);
  const last = items.at(-1);
  return {
    hasNextPage: hasMore,
    hasPreviousPage: continues,
    startCursor: first === undefined ? null : cursor(first),
    endCursor: last === undefined ? null : cursor(last),
  };
}

export const PageInfo = builder.objectRef<PageInfoShape>('PageInfo').implement({
  description:
    'Where a page sits in its list (Relay connection spec). Pagination is forward-only: ask for the next page with `after: endCursor` while hasNextPage is true.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'True when more items follow this page.' }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', {
      description:
        'True when this page was requested with `after`, i.e. it continues an earlier page; false on a first page. Pagination is forward-only (there is no `last` / `before`), so nothing is counted to answer it.',
    }),
    startCursor: t.exposeString('startCursor', {
      nullable: true,
      description: 'Cursor of the first item of this page; null when the page is empty.',
    }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description: 'Cursor of the last item of this page, to pass as `after` for the next page; null when the page is empty.',
    }),
  }),
});

const CustomerConnection = builder.objectRef<CustomerConnectionShape>('CustomerConnection').implement({
  description:
    'A page of customers (Relay connection). Cursors are opaque and stable: a walk never skips or repeats a customer while customers are being added.',
  fields: (t) => ({
    edges: t.field({
      type: [CustomerEdge],
      description: 'The customers of this page, in the requested order.',
      complexity: CONNECTION_EDGES_COST,
      resolve: ({ page }) => page.rows.map((node) => ({ node, order: page.order })),
    }),
    pageInfo: t.field({
      type: PageInfo,
      description: 'Where this page sits in the list, and the cursor of the next one.',
      resolve: ({ page, continues }) => pageInfoOf(page.rows, page.hasMore, continues, (row) => cursorOf(row, page.order)),
    }),
    totalCount: t.int({
      description: 'Customers matching the filter, across all pages; counted (one more query) only when selected.',
      resolve: (c) => c.totalCount(),
    }),
  }),
});

const CustomerStatsKyc = builder.objectRef<{ status: KycStatus; count: number }>('KycStatusCount').implement({
  description: 'How many customers are in one KYC status.',
  fields: (t) => ({
    status: t.field({ type: KycStatusEnum, description: 'The KYC status.', resolve: (s) => s.status }),
    count: t.exposeInt('count', { description: 'Customers in that status (0 or more).' }),
  }),
});
const CustomerStatsAml = builder.objectRef<{ status: AmlStatus; count: number }>('AmlStatusCount').implement({
  description: 'How many customers are in one AML status.',
  fields: (t) => ({
    status: t.field({ type: AmlStatusEnum, description: 'The AML status.', resolve: (s) => s.status }),
    count: t.exposeInt('count', { description: 'Customers in that status (0 or more).' }),
  }),
});
const CustomerStats = builder.objectRef<Awaited<ReturnType<typeof customerStats>>>('CustomerStats').implement({
  description: 'Counts for dashboard tiles; every status is listed, zeros included.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Customers matching the filter.' }),
    kyc: t.field({
      type: [CustomerStatsKyc],
      description: 'One count per KYC status, every status listed (zeros included); they add up to total.',
      resolve: (s) => s.kyc,
    }),
    aml: t.field({
      type: [CustomerStatsAml],
      description: 'One count per AML status, every status listed (zeros included); they add up to total.',
      resolve: (s) => s.aml,
    }),
  }),
});

/**
 * The size of the first history page the document selects on the page's customers
 * (`edges { node { statusHistory(first: k) } }` without `after`), which the page's statement then
 * reads inline (as PostGraphile does); undefined when there is none. With several such
 * selections, the first valid one is inlined and the others load through the DataLoader.
 */
function inlinedHistoryFirst(info: GraphQLResolveInfo): number | undefined {
  for (const a of nestedFieldArgs(info, ['edges', 'node'], 'Customer', 'statusHistory')) {
    const k = a.first;
    if (a.after == null && typeof k === 'number' && Number.isInteger(k) && k >= 0 && k <= HISTORY_MAX) return k;
  }
  return undefined;
}

/** The `id` argument of the customer lookups (the REST routes accept the same). */
export const idArgDescription = "The customer's UUID or its external id; the gateway tells them apart.";

builder.queryFields((t) => ({
  customer: t.field({
    type: CustomerObject,
    nullable: true,
    description:
      'A customer by UUID or external id (told apart automatically); null when your organisation has no such customer. Scope customers:read.',
    authScopes: { [Scope.CustomersRead]: true },
    args: { id: t.arg.id({ required: true, description: idArgDescription }) },
    resolve: (_root, args, ctx) => {
      const id = customerRefArg(args.id);
      return id === null ? null : findCustomer(ctx.services.db.prisma, principalOf(ctx).orgId, id);
    },
  }),

  customers: t.field({
    type: CustomerConnection,
    nullable: true,
    description: `Customers of your organisation, a page at a time (Relay connection, forward-only), oldest first unless orderBy says otherwise. Scope customers:read.`,
    authScopes: { [Scope.CustomersRead]: true },
    args: {
      first: t.arg.int({
        required: false,
        defaultValue: LIST_DEFAULT,
        description: `Page size, 0 to ${LIST_MAX} (${LIST_DEFAULT} by default); outside that range the field fails with BAD_USER_INPUT.`,
      }),
      after: t.arg.string({
        required: false,
        description:
          'Return the customers after this cursor (pageInfo.endCursor or an edge cursor of the previous page). A cursor only works with the order it was issued for; a forged one is BAD_USER_INPUT.',
      }),
      filter: t.arg({ type: CustomerFilterInput, required: false, description: 'Only customers matching every field given.' }),
      orderBy: t.arg({
        type: CustomerOrderInput,
        required: false,
        description: 'Sort order; by creation time, oldest first, when left out.',
      }),
    },
    resolve: async (_root, args, ctx, info) => {
      const first = args.first ?? LIST_DEFAULT;
      if (first < 0 || first > LIST_MAX) {
        throw new GraphQLError(`first must be between 0 and ${LIST_MAX}`, { extensions: { code: GraphQLErrorCode.BadUserInput } });
      }
      const { statements } = ctx.services.db;
      const orgId = principalOf(ctx).orgId;
      const filter = toDomainFilter(args.filter);
      const page = await listCustomers(statements, orgId, {
        filter,
        first,
        after: args.after ?? undefined,
        order: args.orderBy ? { field: args.orderBy.field, direction: args.orderBy.direction } : undefined,
        withHistory: inlinedHistoryFirst(info),
      });
      // The rows' first history pages came with the page: Customer.statusHistory finds them in its loader.
      if (page.histories) {
        const { first: historyFirst, pages } = page.histories;
        for (const [customerId, history] of pages)
          ctx.loaders.statusHistory.prime({ customerId, first: historyFirst, beforeId: null }, history);
      }
      return { page, continues: args.after != null, totalCount: () => countCustomers(statements, orgId, filter) };
    },
  }),

  customerAml: t.field({
    type: CustomerAml,
    nullable: true,
    description:
      'Only the AML block of a customer, for keys that may see nothing else. Scope aml:read; null when your organisation has no such customer.',
    authScopes: { [Scope.AmlRead]: true },
    args: { id: t.arg.id({ required: true, description: idArgDescription }) },
    resolve: async (_root, args, ctx) => {
      const id = customerRefArg(args.id);
      if (id === null) return null;
      const row = await ctx.services.db.prisma.customer.findFirst({
        where: findCustomerWhere(principalOf(ctx).orgId, id),
        select: {
          amlStatus: true,
          amlScreenedAt: true,
          amlLastReviewedAt: true,
          amlPep: true,
          amlSanctions: true,
          amlAdverseMedia: true,
          amlTerrorism: true,
        },
      });
      return row ? amlOf(row) : null;
    },
  }),

  customerStats: t.field({
    type: CustomerStats,
    nullable: true,
    description:
      'How many customers are in each KYC status and each AML status (dashboard tiles), every status listed. Scope customers:read.',
    authScopes: { [Scope.CustomersRead]: true },
    args: {
      filter: t.arg({
        type: CustomerFilterInput,
        required: false,
        description: 'Count only customers matching every field given; all customers when left out.',
      }),
    },
    resolve: (_root, args, ctx) =>
      customerStats(
        ctx.services.db.statements,
        principalOf(ctx).orgId,
        toDomainFilter(args.filter),
        Object.values(KycStatus),
        Object.values(AmlStatus),
      ),
  }),
}));
