// The customer event log, written in the same transaction as every customer write (SPEC
// section 5): the table is the source of truth; NOTIFY only wakes listeners after commit.
import type { Tx } from '../db/client.js';
import type { CustomerEventKind, KycStatus, AmlStatus } from '../generated/prisma/enums.js';
import { toPublicCustomer, type Customer } from '../customers/dto.js';

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
}

/** Appends one event inside the caller's transaction and schedules the wake-up NOTIFY. */
export async function appendCustomerEvent(tx: Tx, event: NewCustomerEvent): Promise<void> {
  const { customer } = event;
  await tx.customerEvent.create({
    data: {
      orgId: customer.orgId,
      customerId: customer.id,
      kind: event.kind,
      kycFrom: event.kycFrom ?? null,
      kycTo: event.kycTo ?? null,
      amlFrom: event.amlFrom ?? null,
      amlTo: event.amlTo ?? null,
      snapshot: toPublicCustomer(customer) as object,
    },
  });
  // Delivered by PostgreSQL only if and when the transaction commits.
  await tx.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${customer.orgId})`;
}
