// The KYC / AML lifecycle: the back-office mutations (scope compliance:write) and the
// customer's status history (Customer.statusHistory), batched per request.
import { GraphQLError } from 'graphql';
import { Scope } from '../../auth/scopes.js';
import { recordAmlScreening, transitionKyc, type LifecycleResult, type RunMove } from '../../customers/lifecycle.js';
import {
  HISTORY_DEFAULT,
  HISTORY_MAX,
  decodeHistoryCursor,
  historyCursor,
  type HistoryEvent,
  type HistoryPage,
} from '../../events/history.js';
import { AML_FLAG_DOCS } from '../../customers/descriptions.js';
import { ActorKind, keyActor, type Actor } from '../../events/actor.js';
import { AmlStatus, CustomerEventKind, KycStatus } from '../../generated/prisma/enums.js';
import { builder, CONNECTION_EDGES_COST } from '../builder.js';
import { GraphQLErrorCode, principalOf, type GatewayContext } from '../context.js';
import { AmlStatusEnum, CustomerObject, idArgDescription, KycStatusEnum, PageInfo, pageInfoOf } from './customer.js';
import { CustomerNotFoundError, InvalidTransitionError, ValidationError } from './errors.js';

const CustomerEventKindEnum = builder.enumType(CustomerEventKind, {
  name: 'CustomerEventKind',
  description: 'What a customer event records: a write by an integrator (CREATED, UPDATED, ADOPTED) or a status move (KYC, AML).',
  values: {
    CREATED: { description: 'The customer was created (upsert outcome CREATED).' },
    UPDATED: { description: 'Fields of the customer were changed by an upsert or an update.' },
    ADOPTED: { description: 'An upsert matched a customer with no external id by email, gave it the external id sent, and updated it.' },
    KYC: { description: 'The back office moved the KYC status.' },
    AML: { description: 'The back office recorded an AML screening step.' },
  },
});

export const KycChange = builder.objectRef<{ from: KycStatus; to: KycStatus }>('KycStatusChange').implement({
  description: 'A move of the KYC status.',
  fields: (t) => ({
    from: t.field({ type: KycStatusEnum, description: 'The KYC status before the move.', resolve: (c) => c.from }),
    to: t.field({ type: KycStatusEnum, description: 'The KYC status after the move.', resolve: (c) => c.to }),
  }),
});
export const AmlChange = builder.objectRef<{ from: AmlStatus; to: AmlStatus }>('AmlStatusChange').implement({
  description: 'A move of the AML status.',
  fields: (t) => ({
    from: t.field({ type: AmlStatusEnum, description: 'The AML status before the move.', resolve: (c) => c.from }),
    to: t.field({ type: AmlStatusEnum, description: 'The AML status after the move.', resolve: (c) => c.to }),
  }),
});

/** The from/to pair of a change, or null when the event did not move that status. */
const change = <S extends string>(from: S | null, to: S | null) => (from !== null && to !== null ? { from, to } : null);

const ActorKindEnum = builder.enumType(ActorKind, {
  name: 'ActorKind',
  description: 'Who made a change.',
  values: {
    API_KEY: { description: 'A request made with an API key (keyId and keyLabel name it).' },
    SYSTEM: { description: 'The gateway itself, in background work.' },
    UNKNOWN: { description: 'A change recorded before the audit trail existed.' },
  },
});

/** Who made a change (SPEC section 11): the API key by id and label, never the key itself. */
export const ActorObject = builder.objectRef<Actor>('Actor').implement({
  description:
    'Who made a change: an API key (its id and its label at the time), the gateway itself (SYSTEM), or UNKNOWN for changes recorded before the audit trail existed. Never the key itself.',
  fields: (t) => ({
    kind: t.field({ type: ActorKindEnum, description: 'API_KEY, SYSTEM or UNKNOWN.', resolve: (a) => a.kind }),
    keyId: t.id({
      nullable: true,
      description: 'The API key id (as listed by `keys list`); null unless kind is API_KEY.',
      resolve: (a) => a.keyId,
    }),
    keyLabel: t.string({
      nullable: true,
      description: "The key's label when the change was made; null unless kind is API_KEY or the key has no label.",
      resolve: (a) => a.keyLabel,
    }),
  }),
});

/** What a status move carries, in the history and in a live change alike. */
interface StatusMove {
  kycFrom: KycStatus | null;
  kycTo: KycStatus | null;
  amlFrom: AmlStatus | null;
  amlTo: AmlStatus | null;
  actor: Actor;
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The fields of a status move (`kyc`, `aml`, `actor`), one definition for CustomerEvent and CustomerStatusChange. */
export const statusMoveFields = <P extends StatusMove>(t: PothosSchemaTypes.ObjectFieldBuilder<Types, P>) => ({
  kyc: t.field({
    type: KycChange,
    nullable: true,
    description: 'The KYC move; null unless kind is KYC.',
    resolve: (e) => change(e.kycFrom, e.kycTo),
  }),
  aml: t.field({
    type: AmlChange,
    nullable: true,
    description: 'The AML move; null unless kind is AML.',
    resolve: (e) => change(e.amlFrom, e.amlTo),
  }),
  actor: t.field({ type: ActorObject, description: 'Who made the change (the audit trail).', resolve: (e) => e.actor }),
});

const CustomerEventObject = builder.objectRef<HistoryEvent>('CustomerEvent').implement({
  description: "One entry of a customer's event log: a write or a status move.",
  fields: (t) => ({
    id: t.id({
      description: 'Identifies the event.',
      resolve: (e) => e.id.toString(),
    }),
    kind: t.field({ type: CustomerEventKindEnum, description: 'What the event records.', resolve: (e) => e.kind }),
    occurredAt: t.field({ type: 'DateTime', description: 'When the change was made (ISO-8601, UTC).', resolve: (e) => e.occurredAt }),
    ...statusMoveFields(t),
  }),
});

const CustomerEventEdge = builder.objectRef<HistoryEvent>('CustomerEventEdge').implement({
  description: "One event of a customer's history, with its position in the history.",
  fields: (t) => ({
    cursor: t.string({
      description: 'Opaque position of this event; pass it as `after` to read the older events that follow it.',
      resolve: (e) => historyCursor(e),
    }),
    node: t.field({ type: CustomerEventObject, description: 'The event.', resolve: (e) => e }),
  }),
});

/** A page of history and whether it was asked for `after` a cursor (PageInfo.hasPreviousPage). */
type HistoryConnectionShape = HistoryPage & { continues: boolean };

const CustomerEventConnection = builder.objectRef<HistoryConnectionShape>('CustomerEventConnection').implement({
  description: "A page of a customer's events, newest first (Relay connection, forward-only).",
  fields: (t) => ({
    edges: t.field({
      type: [CustomerEventEdge],
      description: 'The events of this page, newest first.',
      complexity: CONNECTION_EDGES_COST,
      resolve: (p) => p.events,
    }),
    pageInfo: t.field({
      type: PageInfo,
      description: 'Where this page sits in the history, and the cursor of the next (older) one.',
      resolve: (p) => pageInfoOf(p.events, p.hasMore, p.continues, historyCursor),
    }),
  }),
});

builder.objectField(CustomerObject, 'statusHistory', (t) =>
  t.field({
    type: CustomerEventConnection,
    description:
      "The customer's event log, newest first: its creation, updates and every KYC / AML move, each with its actor (who made it). Kept unless EVENT_RETENTION_DAYS is set. Scope customers:read.",
    authScopes: { [Scope.CustomersRead]: true },
    args: {
      first: t.arg.int({
        required: false,
        defaultValue: HISTORY_DEFAULT,
        description: `Page size, 0 to ${HISTORY_MAX} (${HISTORY_DEFAULT} by default); outside that range the field fails with BAD_USER_INPUT.`,
      }),
      after: t.arg.string({
        required: false,
        description:
          'Return the events older than this cursor (pageInfo.endCursor of the previous page); a forged cursor is BAD_USER_INPUT.',
      }),
    },
    resolve: async (customer, args, ctx) => {
      const first = args.first ?? HISTORY_DEFAULT;
      if (first < 0 || first > HISTORY_MAX) {
        throw new GraphQLError(`first must be between 0 and ${HISTORY_MAX}`, { extensions: { code: GraphQLErrorCode.BadUserInput } });
      }
      const beforeId = args.after ? decodeHistoryCursor(args.after) : null;
      const page = await ctx.loaders.statusHistory.load({ customerId: customer.id, first, beforeId });
      return { ...page, continues: beforeId !== null };
    },
  }),
);

const VerifiedIdentityInput = builder.inputType('VerifiedIdentityInput', {
  description: 'The identity established by KYC; required when moving to VERIFIED.',
  fields: (t) => ({
    legalName: t.string({ required: true, description: 'Legal name as verified, 1 to 255 characters (surrounding spaces are trimmed).' }),
    country: t.string({
      required: true,
      description: 'Country of the verified identity: an ISO 3166-1 alpha-3 code such as GBR (any case; stored upper case).',
    }),
  }),
});

const AmlFlagsInput = builder.inputType('AmlFlagsInput', {
  description:
    'Findings of a screening result, sent only with CLEAR or NEEDS_REVIEW; a flag left out or null counts as false. CLEAR carries no true flag; NEEDS_REVIEW needs at least one.',
  fields: (t) => ({
    pep: t.boolean({ required: false, description: AML_FLAG_DOCS.pep }),
    sanctions: t.boolean({ required: false, description: AML_FLAG_DOCS.sanctions }),
    adverseMedia: t.boolean({ required: false, description: AML_FLAG_DOCS.adverseMedia }),
    terrorism: t.boolean({ required: false, description: AML_FLAG_DOCS.terrorism }),
  }),
});

const IDENTITY_ARG_DOC = 'The verified identity: required with to: VERIFIED, refused (ValidationError) with any other status.';
const FLAGS_ARG_DOC = 'The findings; only with status CLEAR or NEEDS_REVIEW (refused with ValidationError otherwise).';

/** Domain result → the customer, or the matching error type (caught by plugin-errors). */
function unwrap(r: LifecycleResult) {
  switch (r.kind) {
    case 'moved':
      return r.customer;
    case 'not_found':
      throw new CustomerNotFoundError();
    case 'invalid':
      throw new ValidationError(r.fieldErrors);
    case 'invalid_transition':
      throw new InvalidTransitionError(r.from, r.to, r.message);
  }
}

/** Runs a move for the caller (its organisation, its key as the actor) and unwraps the outcome. */
async function runMove<I>(ctx: GatewayContext, move: RunMove<I>, id: string, input: I) {
  const principal = principalOf(ctx);
  return unwrap(await move(ctx.services.db.prisma, principal.orgId, id, input, ctx.services.now(), keyActor(principal)));
}

/** What a lifecycle mutation says about itself: the names and descriptions of its outcome types. */
interface MoveDocs {
  /** The mutation's name with a capital, the prefix of its Success and Result types. */
  typeName: string;
  description: string;
  success: string;
  union: string;
  customerAfter: string;
}

/** The options both lifecycle mutations share: the moved customer, or the error types (plugin-errors). */
const lifecycleMutation = (docs: MoveDocs) => ({
  type: CustomerObject,
  nullable: true,
  description: docs.description,
  authScopes: { [Scope.ComplianceWrite]: true },
  errors: {
    types: [InvalidTransitionError, CustomerNotFoundError, ValidationError],
    result: { name: `${docs.typeName}Success`, description: docs.success },
    union: { name: `${docs.typeName}Result`, description: docs.union },
    dataField: { name: 'customer', description: docs.customerAfter },
  },
});

const TRANSITION_KYC_DOCS: MoveDocs = {
  typeName: 'TransitionKyc',
  description:
    'Moves the KYC status of a customer along the state machine (see KycStatus for the allowed moves), appends a KYC event and notifies subscribers. Moving to VERIFIED requires the verified identity; VERIFIED and NOT_REQUIRED are final. A move the machine does not allow is an InvalidTransitionError and changes nothing. Back office only: scope compliance:write.',
  success: 'The KYC status moved.',
  union: 'The outcome of transitionKyc: the moved customer, or why nothing was changed.',
  customerAfter: 'The customer after the move.',
};

const RECORD_AML_DOCS: MoveDocs = {
  typeName: 'RecordAmlScreening',
  description:
    'Records an AML screening step, only once KYC is VERIFIED: IN_PROGRESS (a screening starts), a result (CLEAR, or NEEDS_REVIEW with its flags), or RESOLVED after review. Appends an AML event and notifies subscribers; a move the machine does not allow is an InvalidTransitionError and changes nothing. Back office only: scope compliance:write.',
  success: 'The AML step was recorded.',
  union: 'The outcome of recordAmlScreening: the customer after the step, or why nothing was changed.',
  customerAfter: 'The customer after the step.',
};

builder.mutationFields((t) => ({
  transitionKyc: t.field({
    ...lifecycleMutation(TRANSITION_KYC_DOCS),
    args: {
      id: t.arg.id({ required: true, description: idArgDescription }),
      to: t.arg({ type: KycStatusEnum, required: true, description: 'The KYC status to move to.' }),
      identity: t.arg({ type: VerifiedIdentityInput, required: false, description: IDENTITY_ARG_DOC }),
    },
    resolve: (_root, args, ctx) => runMove(ctx, transitionKyc, args.id, { to: args.to, identity: args.identity }),
  }),

  recordAmlScreening: t.field({
    ...lifecycleMutation(RECORD_AML_DOCS),
    args: {
      id: t.arg.id({ required: true, description: idArgDescription }),
      status: t.arg({ type: AmlStatusEnum, required: true, description: 'The AML status to move to.' }),
      flags: t.arg({ type: AmlFlagsInput, required: false, description: FLAGS_ARG_DOC }),
    },
    resolve: (_root, args, ctx) => runMove(ctx, recordAmlScreening, args.id, { status: args.status, flags: args.flags }),
  }),
}));
