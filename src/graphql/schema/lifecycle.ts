// The KYC / AML lifecycle: the back-office mutations (scope compliance:write) and the
// customer's status history (Customer.statusHistory), batched per request.
import { GraphQLError } from 'graphql';
import { Scope } from '../../auth/scopes.js';
import { recordAmlScreening, transitionKyc, type LifecycleResult } from '../../customers/lifecycle.js';
import {
  HISTORY_DEFAULT,
  HISTORY_MAX,
  decodeHistoryCursor,
  historyCursor,
  type HistoryEvent,
  type HistoryPage,
} from '../../events/history.js';
import { CustomerEventKind } from '../../generated/prisma/enums.js';
import { builder, CONNECTION_EDGES_COST } from '../builder.js';
import { GraphQLErrorCode } from '../context.js';
import { AmlStatusEnum, CustomerObject, KycStatusEnum, PageInfo } from './customer.js';
import { CustomerNotFoundError, InvalidTransitionError, ValidationError } from './errors.js';

const CustomerEventKindEnum = builder.enumType(CustomerEventKind, {
  name: 'CustomerEventKind',
  description: 'What a customer event records: a write by an integrator (CREATED, UPDATED, ADOPTED) or a status move (KYC, AML).',
});

export const KycChange = builder.objectRef<{ from: string; to: string }>('KycStatusChange').implement({
  fields: (t) => ({
    from: t.field({ type: KycStatusEnum, resolve: (c) => c.from as never }),
    to: t.field({ type: KycStatusEnum, resolve: (c) => c.to as never }),
  }),
});
export const AmlChange = builder.objectRef<{ from: string; to: string }>('AmlStatusChange').implement({
  fields: (t) => ({
    from: t.field({ type: AmlStatusEnum, resolve: (c) => c.from as never }),
    to: t.field({ type: AmlStatusEnum, resolve: (c) => c.to as never }),
  }),
});

/** The from/to pair of a change, or null when the event did not move that status. */
export const change = (from: string | null, to: string | null) => (from !== null && to !== null ? { from, to } : null);

const CustomerEventObject = builder.objectRef<HistoryEvent>('CustomerEvent').implement({
  description: "One entry of a customer's event log: a write or a status move.",
  fields: (t) => ({
    id: t.id({ resolve: (e) => e.id.toString() }),
    kind: t.field({ type: CustomerEventKindEnum, resolve: (e) => e.kind }),
    occurredAt: t.field({ type: 'DateTime', resolve: (e) => e.occurredAt }),
    kyc: t.field({ type: KycChange, nullable: true, description: 'Set on KYC moves.', resolve: (e) => change(e.kycFrom, e.kycTo) }),
    aml: t.field({ type: AmlChange, nullable: true, description: 'Set on AML moves.', resolve: (e) => change(e.amlFrom, e.amlTo) }),
  }),
});

const CustomerEventEdge = builder.objectRef<HistoryEvent>('CustomerEventEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (e) => historyCursor(e) }),
    node: t.field({ type: CustomerEventObject, resolve: (e) => e }),
  }),
});

const CustomerEventConnection = builder.objectRef<HistoryPage>('CustomerEventConnection').implement({
  description: "A page of a customer's events, newest first.",
  fields: (t) => ({
    edges: t.field({ type: [CustomerEventEdge], complexity: CONNECTION_EDGES_COST, resolve: (p) => p.events }),
    pageInfo: t.field({
      type: PageInfo,
      resolve: (p) => {
        const last = p.events.at(-1);
        return { hasNextPage: p.hasMore, endCursor: last ? historyCursor(last) : null };
      },
    }),
  }),
});

builder.prismaObjectField('Customer', 'statusHistory', (t) =>
  t.field({
    type: CustomerEventConnection,
    description: `The customer's events, newest first (${HISTORY_DEFAULT} by default, at most ${HISTORY_MAX}). Kept at least 7 days.`,
    authScopes: { [Scope.CustomersRead]: true },
    args: {
      first: t.arg.int({ required: false, defaultValue: HISTORY_DEFAULT }),
      after: t.arg.string({ required: false }),
    },
    resolve: (customer, args, ctx) => {
      const first = args.first ?? HISTORY_DEFAULT;
      if (first < 0 || first > HISTORY_MAX) {
        throw new GraphQLError(`first must be between 0 and ${HISTORY_MAX}`, { extensions: { code: GraphQLErrorCode.BadUserInput } });
      }
      const beforeId = args.after ? decodeHistoryCursor(args.after) : null;
      return ctx.loaders.statusHistory.load({ customerId: customer.id, first, beforeId });
    },
  }),
);

const VerifiedIdentityInput = builder.inputType('VerifiedIdentityInput', {
  description: 'The identity established by KYC; required when moving to VERIFIED.',
  fields: (t) => ({
    legalName: t.string({ required: true, description: '1 to 255 characters.' }),
    country: t.string({ required: true, description: 'ISO 3166-1 alpha-3 code, e.g. GBR.' }),
  }),
});

const AmlFlagsInput = builder.inputType('AmlFlagsInput', {
  description: 'Findings of a screening result; a flag left out counts as false.',
  fields: (t) => ({
    pep: t.boolean({ required: false }),
    sanctions: t.boolean({ required: false }),
    adverseMedia: t.boolean({ required: false }),
    terrorism: t.boolean({ required: false }),
  }),
});

/** Domain result → the customer, or the matching error type (caught by plugin-errors). */
function unwrap(result: LifecycleResult) {
  if (result.ok) return result.customer;
  const r = result.rejection;
  switch (r.kind) {
    case 'not_found':
      throw new CustomerNotFoundError();
    case 'validation':
      throw new ValidationError(r.fieldErrors);
    case 'invalid_transition':
      throw new InvalidTransitionError(r.from, r.to, r.message);
  }
}

const lifecycleErrors = [InvalidTransitionError, CustomerNotFoundError, ValidationError];

builder.mutationFields((t) => ({
  transitionKyc: t.field({
    type: CustomerObject,
    description: 'Moves the KYC status of a customer (back office). VERIFIED requires the verified identity; VERIFIED is final.',
    authScopes: { [Scope.ComplianceWrite]: true },
    errors: {
      types: lifecycleErrors,
      result: { name: 'TransitionKycSuccess' },
      union: { name: 'TransitionKycResult' },
      dataField: { name: 'customer' },
    },
    args: {
      id: t.arg.id({ required: true, description: 'UUID or external id.' }),
      to: t.arg({ type: KycStatusEnum, required: true }),
      identity: t.arg({ type: VerifiedIdentityInput, required: false }),
    },
    resolve: async (_root, args, ctx) =>
      unwrap(
        await transitionKyc(
          ctx.services.db.prisma,
          ctx.principal!.orgId,
          args.id,
          { to: args.to, identity: args.identity },
          ctx.services.now(),
        ),
      ),
  }),

  recordAmlScreening: t.field({
    type: CustomerObject,
    description:
      'Records an AML screening step (back office; only once KYC is VERIFIED): IN_PROGRESS, a result (CLEAR, or NEEDS_REVIEW with its flags), or RESOLVED after review.',
    authScopes: { [Scope.ComplianceWrite]: true },
    errors: {
      types: lifecycleErrors,
      result: { name: 'RecordAmlScreeningSuccess' },
      union: { name: 'RecordAmlScreeningResult' },
      dataField: { name: 'customer' },
    },
    args: {
      id: t.arg.id({ required: true, description: 'UUID or external id.' }),
      status: t.arg({ type: AmlStatusEnum, required: true }),
      flags: t.arg({ type: AmlFlagsInput, required: false }),
    },
    resolve: async (_root, args, ctx) =>
      unwrap(
        await recordAmlScreening(
          ctx.services.db.prisma,
          ctx.principal!.orgId,
          args.id,
          { status: args.status, flags: args.flags },
          ctx.services.now(),
        ),
      ),
  }),
}));
