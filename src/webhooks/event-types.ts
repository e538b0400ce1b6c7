// The webhook events of SPEC section 10 and how one customer event becomes them: which types
// it produces (a pure function, the one owner of that rule), their ids, and their payloads.
import type { PublicCustomer } from '../projection/customer.js';
import { renderCustomer, type SnakeCaseCustomer } from '../projection/snake-case.js';
import { AmlStatus, KycStatus, type CustomerEventKind } from '../generated/prisma/enums.js';

/** The event types, by their wire names. */
export const WebhookEventType = {
  CustomerCreated: 'customer.created',
  CustomerUpdated: 'customer.updated',
  KycStatusChanged: 'customer.kyc_status_changed',
  KycCompleted: 'customer.kyc_completed',
  AmlStatusChanged: 'customer.aml_status_changed',
  AmlReviewCompleted: 'aml.review_completed',
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = Object.values(WebhookEventType);

/** What a receiver is told about each type (GraphQL descriptions, README). */
export const WEBHOOK_EVENT_TYPE_DESCRIPTIONS: Readonly<Record<WebhookEventType, string>> = {
  'customer.created': 'A customer was created.',
  'customer.updated': 'Any change to a customer, status moves included.',
  'customer.kyc_status_changed': 'The KYC status moved; `previous.kyc_status` is the status before.',
  'customer.kyc_completed': 'KYC reached VERIFIED or FAILED; `previous.kyc_status` is the status before.',
  'customer.aml_status_changed': 'The AML status moved; `previous.aml_status` is the status before.',
  'aml.review_completed': 'AML reached RESOLVED after a review; `previous.aml_status` is the status before.',
};

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/** The fields of a customer event that decide its webhook types and payload. */
export interface SourceEvent {
  id: bigint;
  kind: CustomerEventKind;
  kycFrom: KycStatus | null;
  kycTo: KycStatus | null;
  amlFrom: AmlStatus | null;
  amlTo: AmlStatus | null;
  occurredAt: Date;
  /** The public customer after the change. */
  snapshot: PublicCustomer;
}

const KYC_COMPLETED: ReadonlySet<KycStatus> = new Set([KycStatus.VERIFIED, KycStatus.FAILED]);

/**
 * The webhook types one customer event produces, in the order they are sent. A creation is
 * only `customer.created`; every other write is `customer.updated`, plus the status types its
 * move defines.
 */
export function webhookTypesOf(e: Pick<SourceEvent, 'kind' | 'kycTo' | 'amlTo'>): WebhookEventType[] {
  switch (e.kind) {
    case 'CREATED':
      return [WebhookEventType.CustomerCreated];
    case 'UPDATED':
    case 'ADOPTED':
      return [WebhookEventType.CustomerUpdated];
    case 'KYC': {
      const types: WebhookEventType[] = [WebhookEventType.CustomerUpdated, WebhookEventType.KycStatusChanged];
      if (e.kycTo !== null && KYC_COMPLETED.has(e.kycTo)) types.push(WebhookEventType.KycCompleted);
      return types;
    }
    case 'AML': {
      const types: WebhookEventType[] = [WebhookEventType.CustomerUpdated, WebhookEventType.AmlStatusChanged];
      if (e.amlTo === AmlStatus.RESOLVED) types.push(WebhookEventType.AmlReviewCompleted);
      return types;
    }
  }
}

/**
 * Every (kind, status reached) a customer event can have, with its types: the table the
 * fan-out statement joins (so SQL applies `webhookTypesOf` itself, not a copy of the rule).
 */
export function webhookTypeTable(): { kind: CustomerEventKind; to: string | null; type: WebhookEventType; ord: number }[] {
  const rows: { kind: CustomerEventKind; to: string | null; type: WebhookEventType; ord: number }[] = [];
  const add = (kind: CustomerEventKind, to: string | null, kycTo: KycStatus | null, amlTo: AmlStatus | null) =>
    webhookTypesOf({ kind, kycTo, amlTo }).forEach((type, ord) => rows.push({ kind, to, type, ord }));
  for (const kind of ['CREATED', 'UPDATED', 'ADOPTED'] as const) add(kind, null, null, null);
  for (const to of Object.values(KycStatus)) add('KYC', to, to, null);
  for (const to of Object.values(AmlStatus)) add('AML', to, null, to);
  return rows;
}

const EVENT_ID = /^evt_(\d{1,19})_([a-z_]{1,60})$/;

/**
 * The id of a webhook event: the same for every endpoint, every retry, redelivery and replay
 * (receivers dedupe on it), derived from the customer event and the type.
 */
export function webhookEventId(customerEventId: bigint, type: WebhookEventType): string {
  return `evt_${customerEventId}_${type.replace('.', '_')}`;
}

/** The customer event and type a webhook event id names; null when it is not one of ours. */
export function parseWebhookEventId(id: string): { customerEventId: bigint; type: WebhookEventType } | null {
  const m = EVENT_ID.exec(id);
  if (!m) return null;
  const type = WEBHOOK_EVENT_TYPES.find((t) => t.replace('.', '_') === m[2]);
  return type ? { customerEventId: BigInt(m[1]!), type } : null;
}

/** The statuses before the change, for the status types; null for created/updated. */
export type PreviousStatuses = { kyc_status: KycStatus | null } | { aml_status: AmlStatus | null } | null;

export interface WebhookPayload {
  id: string;
  type: WebhookEventType;
  created_at: string;
  data: { customer: SnakeCaseCustomer; previous: PreviousStatuses };
}

/** The payload of SPEC section 10: the REST customer DTO after the change, plus `previous` for status types. */
export function buildPayload(e: SourceEvent, type: WebhookEventType): WebhookPayload {
  let previous: PreviousStatuses = null;
  if (type === WebhookEventType.KycStatusChanged || type === WebhookEventType.KycCompleted) previous = { kyc_status: e.kycFrom };
  if (type === WebhookEventType.AmlStatusChanged || type === WebhookEventType.AmlReviewCompleted) previous = { aml_status: e.amlFrom };
  return {
    id: webhookEventId(e.id, type),
    type,
    created_at: e.occurredAt.toISOString(),
    data: { customer: renderCustomer(e.snapshot), previous },
  };
}
