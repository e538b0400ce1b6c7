// Inserts customers directly (the read-side tests do not depend on the write path).
import type { Database } from '../../src/db/client.js';
import type { Customer, Prisma } from '../../src/generated/prisma/client.js';
import { normaliseEmail } from '../../src/customers/row.js';

let n = 0;
/** Creates a customer in an organisation; fields default to unique, valid values. */
export async function seedCustomer(
  db: Database,
  orgId: string,
  data: Partial<Omit<Prisma.CustomerUncheckedCreateInput, 'orgId'>> = {},
): Promise<Customer> {
  n += 1;
  const email = data.email === undefined ? `person${n}-${Date.now()}@example.com` : data.email;
  return db.prisma.customer.create({
    data: {
      fullName: `Person ${n}`,
      ...data,
      email,
      emailKey: email === null ? null : normaliseEmail(email),
      orgId,
    },
  });
}
