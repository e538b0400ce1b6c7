// Webhook endpoints (SPEC section 10), scope webhooks:manage: the endpoint and delivery types,
// Query.webhookEndpoints, and the management mutations, whose expected failures the errors
// plugin puts in each result union (`errors` on each field). Thin: the domain
// (webhooks/endpoints.ts) validates, stores and re-queues; this file renders.
import { GraphQLError } from 'graphql';
import { Scope } from '../../auth/scopes.js';
import { WebhookDeliveryStatus } from '../../generated/prisma/enums.js';
import {
  DEFAULT_OVERLAP_SECONDS,
  DELIVERIES_DEFAULT,
  DELIVERIES_MAX,
  MAX_OVERLAP_SECONDS,
  deliveryCursor,
  type Delivery,
  type DeliveryPage,
  type Endpoint,
  type Failure,
  type Result,
} from '../../webhooks/endpoints.js';
import { WEBHOOK_EVENT_TYPE_DESCRIPTIONS, WebhookEventType } from '../../webhooks/event-types.js';
import { builder } from '../builder.js';
import { GraphQLErrorCode, principalOf } from '../context.js';
import { PageInfo, pageInfoOf } from './customer.js';
import { ApiError, ErrorInterface, ValidationError } from './errors.js';
import { ErrorCode } from '../../lib/error-codes.js';

const authScopes = { [Scope.WebhooksManage]: true } as const;

/** GraphQL enum names of the wire types: customer.kyc_completed → CUSTOMER_KYC_COMPLETED. */
const enumName = (type: WebhookEventType) => type.replace('.', '_').toUpperCase();

const WebhookEventTypeEnum = builder.enumType('WebhookEventType', {
  description: 'A webhook event type. The payload and the webhook carry its wire name, given in each value’s description.',
  values: Object.fromEntries(
    Object.values(WebhookEventType).map((type) => [
      enumName(type),
      { value: type, description: `\`${type}\`: ${WEBHOOK_EVENT_TYPE_DESCRIPTIONS[type]}` },
    ]),
  ) as { [K in WebhookEventType as Uppercase<K extends `${infer A}.${infer B}` ? `${A}_${B}` : K>]: { value: K; description: string } },
});

const WebhookDeliveryStatusEnum = builder.enumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  description: 'Where a delivery stands.',
  values: {
    PENDING: { description: 'Being sent, or waiting for its next retry.' },
    DELIVERED: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'No 2xx answer within 24 hours of retries; redeliverWebhookEvent queues it again.' },
  },
});

const WebhookDeliveryObject = builder.objectRef<Delivery>('WebhookDelivery').implement({
  description: 'One webhook event sent to one endpoint, and the state of its delivery.',
  fields: (t) => ({
    id: t.id({ description: 'The delivery id.', resolve: (d) => d.id.toString() }),
    eventId: t.exposeString('eventId', {
      description: 'The webhook event id (headers webhook-id and IC-Event-Id), the same on every attempt: receivers dedupe on it.',
    }),
    eventType: t.field({ type: WebhookEventTypeEnum, description: 'The event type.', resolve: (d) => d.eventType }),
    status: t.field({ type: WebhookDeliveryStatusEnum, description: 'Where the delivery stands.', resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far.' }),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true, description: 'HTTP status of the last answer; null when none came.' }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'Why the last attempt failed (a short excerpt of the answer at most); null after a success.',
    }),
    lastAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the last attempt started.',
      resolve: (d) => d.lastAttemptAt,
    }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the next attempt is due; null once DELIVERED or FAILED.',
      resolve: (d) => d.nextAttemptAt,
    }),
    deliveredAt: t.field({ type: 'DateTime', nullable: true, description: 'When a 2xx answer came.', resolve: (d) => d.deliveredAt }),
    createdAt: t.field({ type: 'DateTime', description: 'When the delivery was queued.', resolve: (d) => d.createdAt }),
  }),
});

const WebhookDeliveryEdge = builder.objectRef<Delivery>('WebhookDeliveryEdge').implement({
  description: 'A delivery and its cursor.',
  fields: (t) => ({
    cursor: t.string({ description: 'Opaque; pass as `after` for the next page.', resolve: (d) => deliveryCursor(d) }),
    node: t.field({ type: WebhookDeliveryObject, description: 'The delivery.', resolve: (d) => d }),
  }),
});

const WebhookDeliveryConnection = builder.objectRef<DeliveryPage>('WebhookDeliveryConnection').implement({
  description: "A page of an endpoint's delivery log, newest first.",
  fields: (t) => ({
    edges: t.field({ type: [WebhookDeliveryEdge], description: 'The deliveries of the page.', resolve: (p) => p.deliveries }),
    pageInfo: t.field({
      type: PageInfo,
      description: 'Whether older deliveries follow, and the cursor to fetch them.',
      resolve: (p) => pageInfoOf(p.deliveries, p.hasMore, p.continues, deliveryCursor),
    }),
  }),
});

const WebhookEndpointObject = builder.objectRef<Endpoint>('WebhookEndpoint').implement({
  description:
    'A URL that receives signed webhooks for some event types of your organisation. Its secret is shown only when created or rotated.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The endpoint id.' }),
    url: t.exposeString('url', { description: 'Where events are POSTed (https).' }),
    events: t.field({ type: [WebhookEventTypeEnum], description: 'The event types it receives.', resolve: (e) => e.events }),
    description: t.exposeString('description', { nullable: true, description: 'Free text for your own reference.' }),
    enabled: t.exposeBoolean('enabled', { description: 'A disabled endpoint receives nothing; its pending deliveries wait.' }),
    failureCount: t.exposeInt('failureCount', { description: 'Consecutive failed attempts; 0 once it answers 2xx again.' }),
    pausedUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'After failures, no attempt is made to it before this time (its backoff); null when healthy.',
      resolve: (e) => (e.pausedUntil && e.failureCount > 0 ? e.pausedUntil : null),
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created.', resolve: (e) => e.createdAt }),
    updatedAt: t.field({
      type: 'DateTime',
      description: 'When it was last changed (secret rotations included).',
      resolve: (e) => e.updatedAt,
    }),
    deliveries: t.field({
      type: WebhookDeliveryConnection,
      description: `Its delivery log, newest first (${DELIVERIES_DEFAULT} by default, at most ${DELIVERIES_MAX}).`,
      args: {
        first: t.arg.int({ required: false, defaultValue: DELIVERIES_DEFAULT, description: `0 to ${DELIVERIES_MAX}.` }),
        after: t.arg.string({ required: false, description: 'The endCursor of the previous page.' }),
        status: t.arg({ type: WebhookDeliveryStatusEnum, required: false, description: 'Only deliveries in this state.' }),
      },
      resolve: async (endpoint, args, ctx) => {
        // At most MAX_ENDPOINTS_PER_ORG endpoints per organisation, so one statement each stays bounded.
        const r = await ctx.services.webhooks.endpoints.deliveries(principalOf(ctx).orgId, endpoint.id, args);
        if (r.ok) return r.value;
        throw new GraphQLError(r.failure.kind === 'invalid' ? (r.failure.fieldErrors[0]?.message ?? 'invalid') : 'not found', {
          extensions: { code: GraphQLErrorCode.BadUserInput },
        });
      },
    }),
  }),
});

class WebhookEndpointNotFoundError extends ApiError {
  readonly code = ErrorCode.NotFound;
  constructor(message = 'No such webhook endpoint in your organisation.') {
    super(message);
  }
}

class WebhookEventNotFoundError extends ApiError {
  readonly code = ErrorCode.NotFound;
  constructor(
    message = 'No such webhook event for this endpoint (unknown id, a type it does not receive, or no longer in the event log).',
  ) {
    super(message);
  }
}

builder.objectType(WebhookEndpointNotFoundError, {
  name: 'WebhookEndpointNotFoundError',
  description: 'No webhook endpoint with that id in your organisation (code not_found).',
  interfaces: [ErrorInterface],
});

builder.objectType(WebhookEventNotFoundError, {
  name: 'WebhookEventNotFoundError',
  description: 'No such webhook event for this endpoint (code not_found).',
  interfaces: [ErrorInterface],
});

class CreateWebhookEndpointSuccess {
  constructor(
    readonly endpoint: Endpoint,
    readonly secret: string,
  ) {}
}
class UpdateWebhookEndpointSuccess {
  constructor(readonly endpoint: Endpoint) {}
}
class RotateWebhookSecretSuccess {
  constructor(
    readonly endpoint: Endpoint,
    readonly secret: string,
    readonly previousSecretExpiresAt: Date | null,
  ) {}
}
class DeleteWebhookEndpointSuccess {
  constructor(readonly deletedId: string) {}
}
class RedeliverWebhookEventSuccess {
  constructor(readonly delivery: Delivery) {}
}
class ReplayWebhookEventsSuccess {
  constructor(
    readonly queued: number,
    readonly resumeFrom: Date | null,
  ) {}
}

const secretField = {
  description:
    'The signing secret (whsec_ + base64 of 32 random bytes), shown this once: store it now. Verify requests with any Standard Webhooks library.',
};

builder.objectType(CreateWebhookEndpointSuccess, {
  name: 'CreateWebhookEndpointSuccess',
  description: 'The endpoint was created.',
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointObject, description: 'The new endpoint.', resolve: (s) => s.endpoint }),
    secret: t.exposeString('secret', secretField),
  }),
});
builder.objectType(UpdateWebhookEndpointSuccess, {
  name: 'UpdateWebhookEndpointSuccess',
  description: 'The endpoint was changed.',
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointObject, description: 'The endpoint as it is now.', resolve: (s) => s.endpoint }),
  }),
});
builder.objectType(RotateWebhookSecretSuccess, {
  name: 'RotateWebhookSecretSuccess',
  description: 'A new secret signs from now on; the previous one also signs until previousSecretExpiresAt.',
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointObject, description: 'The endpoint.', resolve: (s) => s.endpoint }),
    secret: t.exposeString('secret', secretField),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Until then requests carry two signatures (old and new secret); null when the overlap was 0.',
      resolve: (s) => s.previousSecretExpiresAt,
    }),
  }),
});
builder.objectType(DeleteWebhookEndpointSuccess, {
  name: 'DeleteWebhookEndpointSuccess',
  description: 'The endpoint, its secrets and its delivery log were deleted.',
  fields: (t) => ({ deletedId: t.exposeID('deletedId', { description: 'The id of the deleted endpoint.' }) }),
});
builder.objectType(RedeliverWebhookEventSuccess, {
  name: 'RedeliverWebhookEventSuccess',
  description: 'The event is queued for the endpoint again (same webhook-id), with a fresh 24 hours of retries.',
  fields: (t) => ({
    delivery: t.field({ type: WebhookDeliveryObject, description: 'The delivery, now pending.', resolve: (s) => s.delivery }),
  }),
});
builder.objectType(ReplayWebhookEventsSuccess, {
  name: 'ReplayWebhookEventsSuccess',
  description: 'The events are queued for the endpoint again, oldest first.',
  fields: (t) => ({
    queued: t.exposeInt('queued', { description: 'Webhook events queued (deliveries already pending are not counted).' }),
    resumeFrom: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Set when the call stopped at its limit: call again with since = resumeFrom for the rest.',
      resolve: (s) => s.resumeFrom,
    }),
  }),
});

/** A domain failure as its error type. */
function failureOf(f: Failure): ValidationError | WebhookEndpointNotFoundError | WebhookEventNotFoundError {
  if (f.kind === 'invalid') return new ValidationError(f.fieldErrors);
  return f.what === 'event' ? new WebhookEventNotFoundError() : new WebhookEndpointNotFoundError();
}

/** The value of a domain result, or its failure thrown as its error type (the errors plugin puts it in the union). */
function valueOf<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw failureOf(r.failure);
}

type WebhookErrorClass = typeof ValidationError | typeof WebhookEndpointNotFoundError | typeof WebhookEventNotFoundError;

/** The errors option of a management mutation: its success type and error types make the union `name`. */
function resultUnion(name: string, description: string, types: WebhookErrorClass[]) {
  return { types, directResult: true, union: { name, description } } as const;
}

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  description: 'A new endpoint.',
  fields: (t) => ({
    url: t.string({
      required: true,
      description:
        'https URL (http only with WEBHOOK_ALLOW_INSECURE); must not point at loopback, private, link-local or metadata addresses.',
    }),
    events: t.field({ type: [WebhookEventTypeEnum], required: true, description: 'The event types to receive (at least one).' }),
    description: t.string({ required: false, description: 'Free text, at most 500 characters.' }),
  }),
});

const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  description: 'Fields left out stay unchanged.',
  fields: (t) => ({
    url: t.string({ required: false, description: 'A new URL (same rules as on creation).' }),
    events: t.field({
      type: [WebhookEventTypeEnum],
      required: false,
      description: 'The event types to receive from now on (at least one).',
    }),
    description: t.string({ required: false, description: 'Free text, at most 500 characters; null clears it.' }),
    enabled: t.boolean({
      required: false,
      description: 'false stops sending (pending deliveries wait); true resumes and clears the backoff.',
    }),
  }),
});

const endpointId = { required: true, description: 'The endpoint id.' } as const;

builder.queryField('webhookEndpoints', (t) =>
  t.field({
    type: [WebhookEndpointObject],
    description: "Your organisation's webhook endpoints, oldest first (at most 20). Scope webhooks:manage.",
    authScopes,
    resolve: (_root, _args, ctx) => ctx.services.webhooks.endpoints.list(principalOf(ctx).orgId),
  }),
);

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: CreateWebhookEndpointSuccess,
    nullable: true,
    errors: resultUnion(
      'CreateWebhookEndpointResult',
      'The outcome of createWebhookEndpoint: the endpoint and its secret, or why nothing was created.',
      [ValidationError],
    ),
    description: 'Creates an endpoint; the result carries its signing secret, shown this once. Scope webhooks:manage.',
    authScopes,
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true, description: 'The endpoint.' }) },
    resolve: async (_root, { input }, ctx) => {
      const v = valueOf(await ctx.services.webhooks.endpoints.create(principalOf(ctx).orgId, input));
      return new CreateWebhookEndpointSuccess(v.endpoint, v.secret);
    },
  }),

  updateWebhookEndpoint: t.field({
    type: UpdateWebhookEndpointSuccess,
    nullable: true,
    errors: resultUnion(
      'UpdateWebhookEndpointResult',
      'The outcome of updateWebhookEndpoint: the endpoint as changed, or why nothing was changed.',
      [ValidationError, WebhookEndpointNotFoundError],
    ),
    description: 'Changes an endpoint (url, events, description, enabled). Scope webhooks:manage.',
    authScopes,
    args: {
      id: t.arg.id(endpointId),
      input: t.arg({ type: UpdateWebhookEndpointInput, required: true, description: 'The fields to change.' }),
    },
    resolve: async (_root, { id, input }, ctx) => {
      const e = valueOf(await ctx.services.webhooks.endpoints.update(principalOf(ctx).orgId, id, input));
      return new UpdateWebhookEndpointSuccess(e);
    },
  }),

  rotateWebhookSecret: t.field({
    type: RotateWebhookSecretSuccess,
    nullable: true,
    errors: resultUnion('RotateWebhookSecretResult', 'The outcome of rotateWebhookSecret: the new secret, or why nothing was changed.', [
      ValidationError,
      WebhookEndpointNotFoundError,
    ]),
    description: 'Replaces the signing secret; the previous one keeps signing for overlapSeconds. Scope webhooks:manage.',
    authScopes,
    args: {
      id: t.arg.id(endpointId),
      overlapSeconds: t.arg.int({
        required: false,
        defaultValue: DEFAULT_OVERLAP_SECONDS,
        description: `How long the previous secret keeps signing too (0 to ${MAX_OVERLAP_SECONDS}; default 24 hours).`,
      }),
    },
    resolve: async (_root, { id, overlapSeconds }, ctx) => {
      const v = valueOf(
        await ctx.services.webhooks.endpoints.rotateSecret(principalOf(ctx).orgId, id, overlapSeconds ?? DEFAULT_OVERLAP_SECONDS),
      );
      return new RotateWebhookSecretSuccess(v.endpoint, v.secret, v.previousExpiresAt);
    },
  }),

  deleteWebhookEndpoint: t.field({
    type: DeleteWebhookEndpointSuccess,
    nullable: true,
    errors: resultUnion(
      'DeleteWebhookEndpointResult',
      'The outcome of deleteWebhookEndpoint: the deleted id, or why nothing was deleted.',
      [WebhookEndpointNotFoundError],
    ),
    description: 'Deletes an endpoint with its secrets and delivery log. Scope webhooks:manage.',
    authScopes,
    args: { id: t.arg.id(endpointId) },
    resolve: async (_root, { id }, ctx) => {
      const v = valueOf(await ctx.services.webhooks.endpoints.delete(principalOf(ctx).orgId, id));
      return new DeleteWebhookEndpointSuccess(v.id);
    },
  }),

  redeliverWebhookEvent: t.field({
    type: RedeliverWebhookEventSuccess,
    nullable: true,
    errors: resultUnion(
      'RedeliverWebhookEventResult',
      'The outcome of redeliverWebhookEvent: the queued delivery, or why nothing was queued.',
      [WebhookEndpointNotFoundError, WebhookEventNotFoundError],
    ),
    description:
      'Sends one webhook event to the endpoint again (same webhook-id), with a fresh 24 hours of retries. Scope webhooks:manage.',
    authScopes,
    args: {
      endpointId: t.arg.id(endpointId),
      eventId: t.arg.string({ required: true, description: 'The webhook event id (webhook-id, e.g. evt_123_customer_kyc_completed).' }),
    },
    resolve: async (_root, args, ctx) => {
      const d = valueOf(await ctx.services.webhooks.endpoints.redeliver(principalOf(ctx).orgId, args.endpointId, args.eventId));
      return new RedeliverWebhookEventSuccess(d);
    },
  }),

  replayWebhookEvents: t.field({
    type: ReplayWebhookEventsSuccess,
    nullable: true,
    errors: resultUnion('ReplayWebhookEventsResult', 'The outcome of replayWebhookEvents: how many events were queued, or why none were.', [
      ValidationError,
      WebhookEndpointNotFoundError,
    ]),
    description:
      'Queues again every event since a time (as kept in the event log) of the types the endpoint receives, oldest first; same webhook-ids. Scope webhooks:manage.',
    authScopes,
    args: {
      endpointId: t.arg.id(endpointId),
      since: t.arg({ type: 'DateTime', required: true, description: 'Events that occurred at or after this instant.' }),
    },
    resolve: async (_root, args, ctx) => {
      const v = valueOf(await ctx.services.webhooks.endpoints.replay(principalOf(ctx).orgId, args.endpointId, args.since));
      return new ReplayWebhookEventsSuccess(v.queued, v.resumeFrom);
    },
  }),
}));
