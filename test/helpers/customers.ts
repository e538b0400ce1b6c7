// Test customers: the one factory (`seedCustomer`, straight into the database, so read-side
// tests do not depend on the write path), the status moves through the domain, and the GraphQL
// write documents and readers shared by the customer-write suites.
import { recordAmlScreening, transitionKyc, type LifecycleResult } from '../../src/customers/lifecycle.js';
import { normaliseEmail } from '../../src/customers/row.js';
import type { Database } from '../../src/db/client.js';
import { SYSTEM_ACTOR } from '../../src/events/actor.js';
import type { Customer, Prisma } from '../../src/generated/prisma/client.js';
import type { TestGateway } from './gateway.js';

const CUSTOMER_FIELDS = 'id externalId type fullName email kycStatus addedVia createdAt updatedAt';
const ERROR_FIELDS =
  '... on Error { code message } ... on ValidationError { fieldErrors { field message } } ... on CustomerConflictError { field }';

export const UPSERT = `mutation Upsert($input: UpsertCustomerInput!, $key: String) {
  upsertCustomer(input: $input, idempotencyKey: $key) {
    __typename
    ... on UpsertCustomerSuccess { outcome replayed customer { ${CUSTOMER_FIELDS} } }
    ${ERROR_FIELDS}
  }
}`;

export const UPDATE = `mutation Update($id: ID!, $input: UpdateCustomerInput!, $key: String) {
  updateCustomer(id: $id, input: $input, idempotencyKey: $key) {
    __typename
    ... on UpdateCustomerSuccess { replayed customer { ${CUSTOMER_FIELDS} } }
    ${ERROR_FIELDS}
  }
}`;

/** Runs upsertCustomer and returns its payload; fails on GraphQL-level errors. */
export async function upsert(gw: TestGateway, key: string, input: Record<string, unknown>, idempotencyKey?: string): Promise<any> {
  const res = await gw.gql(key, UPSERT, { input, key: idempotencyKey });
  if (res.body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.upsertCustomer;
}

/** Runs updateCustomer and returns its payload; fails on GraphQL-level errors. */
export async function update(
  gw: TestGateway,
  key: string,
  id: string,
  input: Record<string, unknown>,
  idempotencyKey?: string,
): Promise<any> {
  const res = await gw.gql(key, UPDATE, { id, input, key: idempotencyKey });
  if (res.body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.updateCustomer;
}

/** Every customer of an organisation, oldest first. */
export function customersOf(db: Database, orgId: string) {
  return db.prisma.customer.findMany({ where: { orgId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

/** Every event of an organisation, in id order. */
export function eventsOf(db: Database, orgId: string) {
  return db.prisma.customerEvent.findMany({ where: { orgId }, orderBy: { id: 'asc' } });
}

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

/** Walks KYC to VERIFIED (three moves, three events). */
export async function verify(db: Database, orgId: string, id: string): Promise<void> {
  const now = new Date();
  for (const to of ['PENDING', 'IN_PROGRESS'] as const) expectOk(await transitionKyc(db.prisma, orgId, id, { to }, now, SYSTEM_ACTOR));
  expectOk(
    await transitionKyc(
      db.prisma,
      orgId,
      id,
      { to: 'VERIFIED', identity: { legalName: 'Ada Lovelace', country: 'GBR' } },
      now,
      SYSTEM_ACTOR,
    ),
  );
}

export async function moveKyc(db: Database, orgId: string, id: string, to: Parameters<typeof transitionKyc>[3]['to']): Promise<Customer> {
  return expectOk(await transitionKyc(db.prisma, orgId, id, { to }, new Date(), SYSTEM_ACTOR));
}

export async function moveAml(
  db: Database,
  orgId: string,
  id: string,
  status: Parameters<typeof recordAmlScreening>[3]['status'],
): Promise<Customer> {
  return expectOk(await recordAmlScreening(db.prisma, orgId, id, { status }, new Date(), SYSTEM_ACTOR));
}

function expectOk(r: LifecycleResult): Customer {
  if (r.kind !== 'moved') throw new Error(`lifecycle move rejected: ${JSON.stringify(r)}`);
  return r.customer;
}
