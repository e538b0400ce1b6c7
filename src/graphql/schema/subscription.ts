// Subscription.customerStatusChanged: live KYC / AML status changes of the caller's
// organisation, resumable with the opaque cursor of the last change received. Each message
// renders the event's snapshot: no database read per subscriber.
import { GraphQLError } from 'graphql';
import { Scope } from '../../auth/scopes.js';
import { customerFromSnapshot } from '../../customers/row.js';
import { CursorExpiredError, STATUS_CHANGE_KINDS, type Delivery, type StatusChange } from '../../events/bus.js';
import { builder } from '../builder.js';
import { GraphQLErrorCode, principalOf } from '../context.js';
import { assertFilterArgs } from './arguments.js';
import { CustomerObject } from './customer.js';
import { statusMoveFields } from './lifecycle.js';

const StatusChangeKindEnum = builder.enumType('StatusChangeKind', {
  description: 'Which status moved.',
  values: {
    KYC: { description: 'The KYC status.' },
    AML: { description: 'The AML status.' },
  } satisfies Record<(typeof STATUS_CHANGE_KINDS)[number], { description: string }>,
});

const CustomerStatusChangeObject = builder.objectRef<StatusChange>('CustomerStatusChange').implement({
  description: 'A KYC or AML status change, pushed after its transaction committed.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', {
      description: 'Opaque; subscribe again with after: <cursor> to resume with no gap and no duplicate.',
    }),
    kind: t.field({ type: StatusChangeKindEnum, description: 'Which status moved: KYC or AML.', resolve: (c) => c.kind }),
    occurredAt: t.field({
      type: 'DateTime',
      description: 'When the change was made (ISO-8601, UTC); it is pushed once its transaction has committed.',
      resolve: (c) => c.occurredAt,
    }),
    customer: t.field({
      type: CustomerObject,
      description: 'The customer right after the change.',
      resolve: (c) => customerFromSnapshot(c.orgId, c.snapshot),
    }),
    ...statusMoveFields(t),
  }),
});

const CustomerStatusChangeFilter = builder.inputType('CustomerStatusChangeFilter', {
  description: 'Customers are selected by id or by external id (either matches); an empty list filters nothing.',
  fields: (t) => ({
    customerIds: t.idList({ required: false, description: 'Only changes of these customers (UUIDs).' }),
    externalIds: t.stringList({ required: false, description: 'Only changes of the customers with these external ids.' }),
    kind: t.field({
      type: StatusChangeKindEnum,
      required: false,
      description: 'Only KYC changes, or only AML changes; both when left out.',
    }),
  }),
});

builder.subscriptionField('customerStatusChanged', (t) =>
  t.field({
    type: CustomerStatusChangeObject,
    description:
      'KYC and AML status changes of your organisation, in commit order. With after: <cursor>, first replays every matching change since that cursor (kept at least the event retention), then continues live. A subscriber that cannot keep up is ended with the error SUBSCRIBER_TOO_SLOW carrying its last cursor.',
    authScopes: { [Scope.CustomersRead]: true },
    args: {
      filter: t.arg({
        type: CustomerStatusChangeFilter,
        required: false,
        description: 'Only the matching changes; every change of your organisation when left out.',
      }),
      after: t.arg.string({
        required: false,
        description:
          'The cursor of the last change you received: first replays every matching change since it, then continues live. A cursor older than the event retention fails with CURSOR_EXPIRED.',
      }),
    },
    subscribe: async (_root, args, ctx) => {
      const f = args.filter;
      assertFilterArgs({ 'filter.customerIds': f?.customerIds, 'filter.externalIds': f?.externalIds });
      try {
        return await ctx.services.bus.subscribe(
          principalOf(ctx).orgId,
          { customerIds: f?.customerIds ?? undefined, externalIds: f?.externalIds ?? undefined, kinds: f?.kind ? [f.kind] : undefined },
          args.after,
        );
      } catch (error) {
        if (error instanceof CursorExpiredError) {
          throw new GraphQLError(error.message, {
            extensions: { code: GraphQLErrorCode.CursorExpired, retentionDays: error.retentionDays },
          });
        }
        throw error;
      }
    },
    resolve: (delivery: Delivery) => {
      if (delivery.type === 'overflow') {
        throw new GraphQLError('Subscriber too slow: its buffer filled up and it was disconnected; resubscribe with after: lastCursor.', {
          extensions: { code: GraphQLErrorCode.SubscriberTooSlow, lastCursor: delivery.lastCursor },
        });
      }
      return delivery.change;
    },
  }),
);
