// The Customer type (public fields only, SPEC section 3) and the read queries of dashboards:
// customer, customers (Relay connection), customerAml, customerStats.
import { GraphQLError } from 'graphql';
import { Scope } from '../../auth/scopes.js';
import { amlOf, identityOf, type PublicAml, type PublicIdentity } from '../../customers/dto.js';
import {
  LIST_DEFAULT,
  LIST_MAX,
  countCustomers,
  cursorOf,
  customerStats,
  findCustomerWhere,
  listCustomers,
  type CustomerFilter as DomainFilter,
} from '../../customers/queries.js';
import { AddedVia, AmlStatus, CustomerType, KycStatus } from '../../generated/prisma/enums.js';
import { builder, CONNECTION_EDGES_COST } from '../builder.js';
import { GraphQLErrorCode } from '../context.js';

export const KycStatusEnum = builder.enumType(KycStatus, { name: 'KycStatus', description: 'KYC (identity verification) status.' });
export const AmlStatusEnum = builder.enumType(AmlStatus, { name: 'AmlStatus', description: 'AML screening status.' });
export const CustomerTypeEnum = builder.enumType(CustomerType, { name: 'CustomerType' });
export const AddedViaEnum = builder.enumType(AddedVia, {
  name: 'AddedVia',
  description: 'How the record entered the platform; INTEGRATION for records created through this gateway. Never changes.',
});

const AmlFlags = builder.objectRef<PublicAml['flags']>('AmlFlags').implement({
  fields: (t) => ({
    pep: t.exposeBoolean('pep', { description: 'Politically exposed person.' }),
    sanctions: t.exposeBoolean('sanctions'),
    adverseMedia: t.exposeBoolean('adverseMedia'),
    terrorism: t.exposeBoolean('terrorism'),
  }),
});

export const CustomerAml = builder.objectRef<PublicAml>('CustomerAml').implement({
  description: 'The AML block of a customer.',
  fields: (t) => ({
    status: t.field({ type: AmlStatusEnum, resolve: (a) => a.status }),
    screenedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => (a.screenedAt ? new Date(a.screenedAt) : null) }),
    lastReviewedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => (a.lastReviewedAt ? new Date(a.lastReviewedAt) : null) }),
    flags: t.field({ type: AmlFlags, resolve: (a) => a.flags }),
  }),
});

const VerifiedIdentity = builder.objectRef<PublicIdentity>('VerifiedIdentity').implement({
  description: 'The identity established by KYC; present only while the customer is VERIFIED.',
  fields: (t) => ({
    verifiedLegalName: t.exposeString('verifiedLegalName'),
    verifiedCountry: t.exposeString('verifiedCountry', { description: 'ISO 3166-1 alpha-3.' }),
  }),
});

export const CustomerObject = builder.prismaObject('Customer', {
  description: 'A customer record. Phone, risk answers and internal ids are write-only or never exposed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    externalId: t.exposeString('externalId', {
      nullable: true,
      description: "The caller's CRM id; unique per organisation, immutable once set.",
    }),
    type: t.expose('type', { type: CustomerTypeEnum }),
    fullName: t.exposeString('fullName'),
    email: t.exposeString('email', { nullable: true }),
    kycStatus: t.expose('kycStatus', { type: KycStatusEnum }),
    kycStartedAt: t.expose('kycStartedAt', { type: 'DateTime', nullable: true }),
    kycCompletedAt: t.expose('kycCompletedAt', { type: 'DateTime', nullable: true }),
    identity: t.field({ type: VerifiedIdentity, nullable: true, resolve: (c) => identityOf(c) }),
    aml: t.field({ type: CustomerAml, resolve: (c) => amlOf(c) }),
    addedVia: t.expose('addedVia', { type: AddedViaEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Changes on every write, status changes included.' }),
  }),
});

export const CustomerFilterInput = builder.inputType('CustomerFilter', {
  fields: (t) => ({
    kycStatus: t.field({ type: [KycStatusEnum], required: false }),
    amlStatus: t.field({ type: [AmlStatusEnum], required: false }),
    updatedSince: t.field({ type: 'DateTime', required: false, description: 'Only customers updated strictly after this instant.' }),
    externalId: t.string({ required: false }),
    type: t.field({ type: CustomerTypeEnum, required: false }),
    search: t.string({ required: false, description: 'Case-insensitive substring of the name, email or external id.' }),
  }),
});

const OrderFieldEnum = builder.enumType('CustomerOrderField', { values: ['CREATED_AT', 'UPDATED_AT'] as const });
const OrderDirectionEnum = builder.enumType('OrderDirection', { values: ['ASC', 'DESC'] as const });
const CustomerOrderInput = builder.inputType('CustomerOrder', {
  fields: (t) => ({
    field: t.field({ type: OrderFieldEnum, required: true, defaultValue: 'CREATED_AT' }),
    direction: t.field({ type: OrderDirectionEnum, required: true, defaultValue: 'ASC' }),
  }),
});

type FilterArg = typeof CustomerFilterInput.$inferInput | null | undefined;

/** GraphQL filter input → domain filter (nulls mean "not filtered"). */
export function toDomainFilter(f: FilterArg): DomainFilter {
  if (!f) return {};
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
  page: Awaited<ReturnType<typeof listCustomers>>;
  /** Counted lazily: only when `totalCount` is selected. */
  totalCount: () => Promise<number>;
}

const CustomerEdge = builder
  .objectRef<{ cursor: string; node: Awaited<ReturnType<typeof listCustomers>>['rows'][number] }>('CustomerEdge')
  .implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor'),
      node: t.field({ type: CustomerObject, resolve: (e) => e.node }),
    }),
  });

export const PageInfo = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

const CustomerConnection = builder.objectRef<CustomerConnectionShape>('CustomerConnection').implement({
  description: 'A page of customers (Relay connection). Cursors are opaque and stable while customers are added.',
  fields: (t) => ({
    edges: t.field({
      type: [CustomerEdge],
      complexity: CONNECTION_EDGES_COST,
      resolve: ({ page }) => page.rows.map((node) => ({ node, cursor: cursorOf(node, page.order) })),
    }),
    pageInfo: t.field({
      type: PageInfo,
      resolve: ({ page }) => {
        const last = page.rows.at(-1);
        return { hasNextPage: page.hasMore, endCursor: last ? cursorOf(last, page.order) : null };
      },
    }),
    totalCount: t.int({ description: 'Customers matching the filter; counted only when selected.', resolve: (c) => c.totalCount() }),
  }),
});

const CustomerStatsKyc = builder.objectRef<{ status: KycStatus; count: number }>('KycStatusCount').implement({
  fields: (t) => ({ status: t.field({ type: KycStatusEnum, resolve: (s) => s.status }), count: t.exposeInt('count') }),
});
const CustomerStatsAml = builder.objectRef<{ status: AmlStatus; count: number }>('AmlStatusCount').implement({
  fields: (t) => ({ status: t.field({ type: AmlStatusEnum, resolve: (s) => s.status }), count: t.exposeInt('count') }),
});
const CustomerStats = builder.objectRef<Awaited<ReturnType<typeof customerStats>>>('CustomerStats').implement({
  description: 'Counts for dashboard tiles; every status is listed, zeros included.',
  fields: (t) => ({
    total: t.exposeInt('total'),
    kyc: t.field({ type: [CustomerStatsKyc], resolve: (s) => s.kyc }),
    aml: t.field({ type: [CustomerStatsAml], resolve: (s) => s.aml }),
  }),
});

builder.queryFields((t) => ({
  customer: t.prismaField({
    type: 'Customer',
    nullable: true,
    description: 'A customer by UUID or external id (told apart automatically); null when not found in your organisation.',
    authScopes: { [Scope.CustomersRead]: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      ctx.services.db.prisma.customer.findFirst({ ...query, where: findCustomerWhere(ctx.principal!.orgId, id) }),
  }),

  customers: t.field({
    type: CustomerConnection,
    description: `Customers of your organisation, ${LIST_DEFAULT} per page by default (at most ${LIST_MAX}).`,
    authScopes: { [Scope.CustomersRead]: true },
    args: {
      first: t.arg.int({ required: false, defaultValue: LIST_DEFAULT }),
      after: t.arg.string({ required: false }),
      filter: t.arg({ type: CustomerFilterInput, required: false }),
      orderBy: t.arg({ type: CustomerOrderInput, required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? LIST_DEFAULT;
      if (first < 0 || first > LIST_MAX) {
        throw new GraphQLError(`first must be between 0 and ${LIST_MAX}`, { extensions: { code: GraphQLErrorCode.BadUserInput } });
      }
      const { prisma } = ctx.services.db;
      const orgId = ctx.principal!.orgId;
      const filter = toDomainFilter(args.filter);
      const page = await listCustomers(prisma, orgId, {
        filter,
        first,
        after: args.after ?? undefined,
        order: args.orderBy ? { field: args.orderBy.field, direction: args.orderBy.direction } : undefined,
      });
      return { page, totalCount: () => countCustomers(prisma, orgId, filter) };
    },
  }),

  customerAml: t.field({
    type: CustomerAml,
    nullable: true,
    description: 'Only the AML block of a customer (scope aml:read); null when not found.',
    authScopes: { [Scope.AmlRead]: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const row = await ctx.services.db.prisma.customer.findFirst({
        where: findCustomerWhere(ctx.principal!.orgId, id),
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
    description: 'Counts per KYC status and per AML status.',
    authScopes: { [Scope.CustomersRead]: true },
    args: { filter: t.arg({ type: CustomerFilterInput, required: false }) },
    resolve: (_root, args, ctx) =>
      customerStats(
        ctx.services.db.prisma,
        ctx.principal!.orgId,
        toDomainFilter(args.filter),
        Object.values(KycStatus),
        Object.values(AmlStatus),
      ),
  }),
}));
