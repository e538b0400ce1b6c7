// GraphQL documents and small helpers shared by the customer-write suites.
import type { Database } from '../../src/db/client.js';
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
