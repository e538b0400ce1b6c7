// The customer event log, written in the same transaction as every customer write (SPEC
// section 5): the table is the source of truth; NOTIFY only wakes listeners after commit. This is
// the one writer of the log: every customer write appends its event here, with the write itself.
import type { Tx } from '../db/client.js';
import { sendTogether, WriteStatement } from '../db/write-statements.js';
import { Prisma, type Customer } from '../generated/prisma/client.js';
import type { AmlStatus, CustomerEventKind, KycStatus } from '../generated/prisma/enums.js';
import { toPublicCustomer } from '../projection/customer.js';
import type { Actor } from './actor.js';

/** The NOTIFY channel that wakes every instance's event bus (and webhook sender). */
export const EVENTS_CHANNEL = 'customer_events';

export interface NewCustomerEvent {
  kind: CustomerEventKind;
  /** The customer after the change (its public fields become the snapshot). */
  customer: Customer;
  kycFrom?: KycStatus | null;
  kycTo?: KycStatus | null;
  amlFrom?: AmlStatus | null;
  amlTo?: AmlStatus | null;
  /** Who made the change (SPEC section 11); required, so no write can forget it. */
  actor: Actor;
}

/** The event row; `txid` and `occurred_at` come from their column defaults (the writing transaction, its clock). */
function eventRow(event: NewCustomerEvent): WriteStatement {
  const { customer, actor } = event;
  return WriteStatement.of(Prisma.sql`
    INSERT INTO customer_events (org_id, customer_id, kind, kyc_from, kyc_to, aml_from, aml_to, snapshot,
      actor_kind, actor_key_id, actor_key_label)
    VALUES (
      ${customer.orgId}::uuid, ${customer.id}::uuid, ${event.kind}::text::"CustomerEventKind",
      ${event.kycFrom ?? null}::text::"KycStatus", ${event.kycTo ?? null}::text::"KycStatus",
      ${event.amlFrom ?? null}::text::"AmlStatus", ${event.amlTo ?? null}::text::"AmlStatus",
      ${JSON.stringify(toPublicCustomer(customer))}::jsonb,
      ${actor.kind}::text::"ActorKind", ${actor.keyId}::uuid, ${actor.keyLabel}::text)`);
}

/**
 * Appends one event inside the caller's transaction, in ONE round trip with `writes` (the change
 * the event records, a stored idempotent response) and the wake-up NOTIFY, which PostgreSQL
 * delivers only if and when the transaction commits.
 */
export async function appendCustomerEvent(tx: Tx, event: NewCustomerEvent, writes: readonly WriteStatement[] = []): Promise<void> {
  const row = eventRow(event);
  await sendTogether(tx, [...writes, row], Prisma.sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${event.customer.orgId})`);
}
