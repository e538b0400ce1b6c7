// The requests every scenario sends, shared by the load generator and the recording tool.

/** A valid upsert body whose externalId and email are unique to `tag`. */
export function upsertBody(tag: string): Record<string, unknown> {
  return {
    externalId: `crm-${tag}`,
    fullName: `Bench Customer ${tag}`,
    email: `bench.${tag}@example.com`,
    type: 'INDIVIDUAL',
    phone: '+61400000000',
    risk: { isNewCustomer: true, isDesignatedService: false, handlesCashOrCrypto: false },
  };
}

export const UPSERT_MUTATION = `mutation Upsert($input: UpsertCustomerInput!, $key: String) {
  upsertCustomer(input: $input, idempotencyKey: $key) {
    __typename
    ... on UpsertCustomerSuccess { outcome replayed customer { id externalId type fullName email kycStatus aml { status } addedVia createdAt updatedAt } }
    ... on Error { code message }
  }
}`;

/** The dashboard page of scenario 3; statusHistory only when the schema has it (see schemaHasStatusHistory). */
export function dashboardQuery(withHistory: boolean): string {
  return `query Dashboard {
  customers(first: 50) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id externalId type fullName email kycStatus kycStartedAt kycCompletedAt addedVia createdAt updatedAt
      identity { verifiedLegalName verifiedCountry }
      aml { status screenedAt lastReviewedAt flags { pep sanctions adverseMedia terrorism } }${withHistory ? '\n      statusHistory(first: 3) { edges { node { kind occurredAt kyc { from to } aml { from to } } } }' : ''}
    } }
  }
}`;
}
