// Webhook endpoints of an organisation (SPEC section 10): create, change, rotate the secret,
// delete, list, the delivery log, and the replay tool. Domain layer: every operation takes the
// caller's organisation and never sees another's endpoints (an endpoint of another
// organisation is indistinguishable from one that does not exist). GraphQL and the CLI call
// these.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import type { WebhookDeliveryStatus } from '../generated/prisma/enums.js';
import { decodeCursor, encodeCursor, parseBigintText } from '../lib/cursor.js';
import type { FieldError } from '../lib/error-codes.js';
import { isUuid } from '../lib/ids.js';
import { urlProblem, type NetworkPolicy } from './address-policy.js';
import { isWebhookEventType, parseWebhookEventId, webhookEventId, type WebhookEventType } from './event-types.js';
import { deliveryLog, requeueEvent, requeueSince, type DeliveryColumns } from './queue.js';
import type { SecretBox } from './secret-box.js';
import { generateSecret } from './signing.js';

/** Endpoints one organisation may have: the fan-out and the sender's work grow with them. */
export const MAX_ENDPOINTS_PER_ORG = 20;
export const DESCRIPTION_MAX = 500;
/** Longest overlap of a rotated secret (7 days); the default is 24 hours. */
export const MAX_OVERLAP_SECONDS = 7 * 86_400;
export const DEFAULT_OVERLAP_SECONDS = 86_400;
/** Customer events one replay call covers at most; the result says where to continue. */
export const REPLAY_MAX_EVENTS = 10_000;
export const DELIVERIES_DEFAULT = 20;
export const DELIVERIES_MAX = 100;

export interface Endpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** Consecutive failed attempts (reset by a success). */
  failureCount: number;
  /** The sender waits until then before its next attempt (after failures); null when healthy. */
  pausedUntil: Date | null;
}

export interface Delivery {
  id: bigint;
  endpointId: string;
  /** The webhook event id (webhook-id / IC-Event-Id), the same on every attempt. */
  eventId: string;
  eventType: WebhookEventType;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  /** When the next attempt is due; null once DELIVERED or FAILED. */
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

export interface DeliveryPage {
  deliveries: Delivery[];
  hasMore: boolean;
  /** The page was asked for after a cursor (older deliveries than some already seen). */
  continues: boolean;
}

export interface EndpointInput {
  url?: string | null | undefined;
  events?: readonly string[] | null | undefined;
  description?: string | null | undefined;
  enabled?: boolean | null | undefined;
}

export type Failure = { kind: 'not_found'; what: 'endpoint' | 'event' } | { kind: 'invalid'; fieldErrors: FieldError[] };
export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const invalid = (fieldErrors: FieldError[]): Result<never> => ({ ok: false, failure: { kind: 'invalid', fieldErrors } });
const notFound = (what: 'endpoint' | 'event' = 'endpoint'): Result<never> => ({ ok: false, failure: { kind: 'not_found', what } });

const ENDPOINT_SELECT = {
  id: true,
  url: true,
  events: true,
  description: true,
  enabled: true,
  createdAt: true,
  updatedAt: true,
  failureCount: true,
  pausedUntil: true,
} as const;

type EndpointRow = { [K in keyof typeof ENDPOINT_SELECT]: K extends 'events' ? string[] : Endpoint[K] };

const toEndpoint = (r: EndpointRow): Endpoint => ({ ...r, events: r.events.filter(isWebhookEventType) });

function toDelivery(r: DeliveryColumns): Delivery {
  const type = isWebhookEventType(r.eventType) ? r.eventType : 'customer.updated';
  return {
    id: r.id,
    endpointId: r.endpointId,
    eventId: webhookEventId(r.customerEventId, type),
    eventType: type,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.lastStatusCode,
    lastError: r.lastError,
    lastAttemptAt: r.lastAttemptAt,
    nextAttemptAt: r.status === 'PENDING' ? r.nextAttemptAt : null,
    deliveredAt: r.deliveredAt,
    createdAt: r.createdAt,
  };
}

const hasNul = (s: string) => s.includes('\u0000');

/** Management of an organisation's endpoints (one per instance, in services). */
export class WebhookEndpoints {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly policy: NetworkPolicy,
    private readonly now: () => Date,
  ) {}

  /** Every field problem of an input at once (create: url and events required). */
  private validate(input: EndpointInput, creating: boolean): FieldError[] {
    const errors: FieldError[] = [];
    if (input.url === undefined || input.url === null) {
      if (creating) errors.push({ field: 'url', message: 'is required' });
    } else {
      const problem = hasNul(input.url) ? 'must not contain NUL characters' : urlProblem(input.url, this.policy);
      if (problem) errors.push({ field: 'url', message: problem });
    }
    if (input.events === undefined || input.events === null) {
      if (creating) errors.push({ field: 'events', message: 'is required (one or more event types)' });
    } else if (input.events.length === 0) {
      errors.push({ field: 'events', message: 'must name at least one event type' });
    } else {
      const unknown = input.events.filter((e) => !isWebhookEventType(e));
      if (unknown.length) errors.push({ field: 'events', message: `unknown event type(s): ${unknown.join(', ')}` });
    }
    if (input.description !== undefined && input.description !== null) {
      if (input.description.length > DESCRIPTION_MAX)
        errors.push({ field: 'description', message: `must be at most ${DESCRIPTION_MAX} characters` });
      else if (hasNul(input.description)) errors.push({ field: 'description', message: 'must not contain NUL characters' });
    }
    return errors;
  }

  /** The organisation's endpoints, oldest first. */
  async list(orgId: string): Promise<Endpoint[]> {
    const rows = await this.prisma.webhookEndpoint.findMany({
      where: { orgId },
      select: ENDPOINT_SELECT,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map(toEndpoint);
  }

  /** One endpoint of the organisation, or null. */
  async get(orgId: string, id: string): Promise<Endpoint | null> {
    if (!isUuid(id)) return null;
    const row = await this.prisma.webhookEndpoint.findFirst({ where: { id, orgId }, select: ENDPOINT_SELECT });
    return row ? toEndpoint(row) : null;
  }

  /** Creates an endpoint and its first secret; the secret is returned once, never again. */
  async create(orgId: string, input: EndpointInput): Promise<Result<{ endpoint: Endpoint; secret: string }>> {
    const errors = this.validate(input, true);
    const { url, events } = input;
    if (errors.length || !url || !events) return invalid(errors);
    const secret = generateSecret();
    const secretId = randomUUID();
    const now = this.now();
    return this.prisma.$transaction(async (tx) => {
      // The per-organisation cap holds under concurrency: creations of one organisation queue on its row.
      await tx.$executeRaw`SELECT 1 FROM organizations WHERE id = ${orgId}::uuid FOR UPDATE`;
      if ((await tx.webhookEndpoint.count({ where: { orgId } })) >= MAX_ENDPOINTS_PER_ORG) {
        return invalid([{ field: 'url', message: `an organisation may have at most ${MAX_ENDPOINTS_PER_ORG} endpoints` }]);
      }
      const row = await tx.webhookEndpoint.create({
        data: {
          orgId,
          url,
          events: [...new Set(events)],
          description: input.description ?? null,
          enabled: input.enabled ?? true,
          // created_at is the database's clock, like the events' occurred_at it is compared with.
          secrets: { create: { id: secretId, secret: this.box.seal(secret, secretId), createdAt: now } },
        },
        select: ENDPOINT_SELECT,
      });
      return ok({ endpoint: toEndpoint(row), secret });
    });
  }

  /** Changes the fields given (url, events, description, enabled); the others stay. */
  async update(orgId: string, id: string, input: EndpointInput): Promise<Result<Endpoint>> {
    const errors = this.validate(input, false);
    if (!isUuid(id)) return notFound();
    if (errors.length) return invalid(errors);
    const data = {
      ...(input.url != null ? { url: input.url } : {}),
      ...(input.events != null ? { events: [...new Set(input.events)] } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      // Re-enabling clears the breaker: the operator says the endpoint is back.
      ...(input.enabled != null ? { enabled: input.enabled, ...(input.enabled ? { failureCount: 0, pausedUntil: null } : {}) } : {}),
      updatedAt: this.now(),
    };
    const { count } = await this.prisma.webhookEndpoint.updateMany({ where: { id, orgId }, data });
    if (count === 0) return notFound();
    const endpoint = await this.get(orgId, id);
    return endpoint ? ok(endpoint) : notFound();
  }

  /**
   * Replaces the current secret with a new one (returned once). The previous secret keeps
   * signing for `overlapSeconds` (0: not at all), so receivers can switch without a gap; any
   * older secret stops at once (at most two sign at a time).
   */
  async rotateSecret(
    orgId: string,
    id: string,
    overlapSeconds: number = DEFAULT_OVERLAP_SECONDS,
  ): Promise<Result<{ endpoint: Endpoint; secret: string; previousExpiresAt: Date | null }>> {
    if (!isUuid(id)) return notFound();
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_OVERLAP_SECONDS) {
      return invalid([{ field: 'overlapSeconds', message: `must be an integer from 0 to ${MAX_OVERLAP_SECONDS}` }]);
    }
    const now = this.now();
    const previousExpiresAt = overlapSeconds > 0 ? new Date(now.getTime() + overlapSeconds * 1000) : null;
    const secret = generateSecret();
    const secretId = randomUUID();
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT id::text AS id FROM webhook_endpoints WHERE id = ${id}::uuid AND org_id = ${orgId}::uuid FOR UPDATE`;
      if (locked.length === 0) return notFound();
      await tx.webhookSecret.deleteMany({
        where: { endpointId: id, OR: [{ expiresAt: { not: null } }, ...(previousExpiresAt ? [] : [{ expiresAt: null }])] },
      });
      if (previousExpiresAt)
        await tx.webhookSecret.updateMany({ where: { endpointId: id, expiresAt: null }, data: { expiresAt: previousExpiresAt } });
      await tx.webhookSecret.create({ data: { id: secretId, endpointId: id, secret: this.box.seal(secret, secretId), createdAt: now } });
      const row = await tx.webhookEndpoint.update({ where: { id }, data: { updatedAt: now }, select: ENDPOINT_SELECT });
      return ok({ endpoint: toEndpoint(row), secret, previousExpiresAt });
    });
  }

  /** Deletes an endpoint with its secrets and delivery log; attempts in flight finish unrecorded. */
  async delete(orgId: string, id: string): Promise<Result<{ id: string }>> {
    if (!isUuid(id)) return notFound();
    const { count } = await this.prisma.webhookEndpoint.deleteMany({ where: { id, orgId } });
    return count > 0 ? ok({ id }) : notFound();
  }

  /** The delivery log of an endpoint, newest first, optionally of one status. */
  async deliveries(
    orgId: string,
    endpointId: string,
    page: { first?: number | null; after?: string | null; status?: WebhookDeliveryStatus | null },
  ): Promise<Result<DeliveryPage>> {
    const first = page.first ?? DELIVERIES_DEFAULT;
    if (!Number.isInteger(first) || first < 0 || first > DELIVERIES_MAX) {
      return invalid([{ field: 'first', message: `must be between 0 and ${DELIVERIES_MAX}` }]);
    }
    const before = page.after ? decodeCursor(page.after, readDeliveryCursor) : null;
    const rows = await deliveryLog(this.prisma, orgId, endpointId, page.status ?? null, before, first + 1);
    return ok({ deliveries: rows.slice(0, first).map(toDelivery), hasMore: rows.length > first, continues: before !== null });
  }

  /**
   * Sends one webhook event to an endpoint again (the same `webhook-id`: receivers that dedupe
   * see it once), with a fresh 24 hours of retries. The endpoint must receive that event's type.
   */
  async redeliver(orgId: string, endpointId: string, eventId: string): Promise<Result<Delivery>> {
    const endpoint = await this.get(orgId, endpointId);
    if (!endpoint) return notFound();
    const parsed = parseWebhookEventId(eventId);
    if (!parsed || !endpoint.events.includes(parsed.type)) return notFound('event');
    const row = await requeueEvent(this.prisma, orgId, endpointId, parsed.customerEventId, parsed.type, this.now());
    return row ? ok(toDelivery(row)) : notFound('event');
  }

  /**
   * Queues again every event since `since` (kept in the log) of the types the endpoint
   * receives, oldest first, at most REPLAY_MAX_EVENTS customer events per call: when
   * `resumeFrom` is set, call again with it as `since`.
   */
  async replay(orgId: string, endpointId: string, since: Date): Promise<Result<{ queued: number; resumeFrom: Date | null }>> {
    const endpoint = await this.get(orgId, endpointId);
    if (!endpoint) return notFound();
    const now = this.now();
    if (since.getTime() > now.getTime()) return invalid([{ field: 'since', message: 'must not be in the future' }]);
    const r = await requeueSince(this.prisma, orgId, endpointId, since, REPLAY_MAX_EVENTS, now);
    return ok({ queued: r.queued, resumeFrom: r.events === REPLAY_MAX_EVENTS ? r.lastOccurredAt : null });
  }
}

/** The delivery id a cursor points at, or null when it is not one this API issued. */
const readDeliveryCursor = (doc: Record<string, unknown>): bigint | null => parseBigintText(doc.d);

/** The opaque cursor of a delivery in the delivery log. */
export function deliveryCursor(d: Pick<Delivery, 'id'>): string {
  return encodeCursor({ d: d.id.toString() });
}
