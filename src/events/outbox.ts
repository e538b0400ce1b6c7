// The customer event log, written in the same transaction as every customer write (SPEC
// section 5): the table is the source of truth; NOTIFY only wakes listeners after commit.
import type { Tx } from '../db/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { CustomerEventKind, KycStatus, AmlStatus } from '../generated/prisma/enums.js';
import type { Customer } from '../generated/prisma/client.js';
import { toPublicCustomer } from '../projection/customer.js';
import type { Actor } from './actor.js';

/** The NOTIFY channel that wakes every instance's event bus. */
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

/** The actor columns of an event row, in the order of ACTOR_VALUES. */
export const ACTOR_COLUMNS = Prisma.raw('actor_kind, actor_key_id, actor_key_label');

/** The values of ACTOR_COLUMNS for an actor (one owner of the actor's row shape). */
export function actorValues(actor: Actor): Prisma.Sql {
  return Prisma.sql`${actor.kind}::text::"ActorKind", ${actor.keyId}::uuid, ${actor.keyLabel}::text`;
}

/**
 * Appends one event inside the caller's transaction and schedules the wake-up NOTIFY. `alongside`
 * is another data-modifying statement of the same transaction (e.g. storing the idempotent
 * response) sent in the same round trip: data-modifying CTEs always run to completion.
 */
export async function appendCustomerEvent(tx: Tx, event: NewCustomerEvent, alongside?: Prisma.Sql): Promise<void> {
  const { customer } = event;
  // One round trip: the insert and the NOTIFY (delivered by PostgreSQL only if and when the
  // transaction commits). `txid` and `occurred_at` come from their column defaults.
  await tx.$executeRaw`
    WITH e AS (
      INSERT INTO customer_events (org_id, customer_id, kind, kyc_from, kyc_to, aml_from, aml_to, snapshot, ${ACTOR_COLUMNS})
      VALUES (
        ${customer.orgId}::uuid, ${customer.id}::uuid, ${event.kind}::text::"CustomerEventKind",
        ${event.kycFrom ?? null}::text::"KycStatus", ${event.kycTo ?? null}::text::"KycStatus",
        ${event.amlFrom ?? null}::text::"AmlStatus", ${event.amlTo ?? null}::text::"AmlStatus",
        ${JSON.stringify(toPublicCustomer(customer))}::jsonb, ${actorValues(event.actor)})
      RETURNING org_id)${alongside ? Prisma.sql`, alongside AS (${alongside})` : Prisma.empty}
    SELECT pg_notify(${EVENTS_CHANNEL}, org_id::text) FROM e`;
}
