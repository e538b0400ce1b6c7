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

/** Events per customer on the dashboard page (statusHistory(first: 3)). */
export const HISTORY_FIRST = 3;

/**
 * The dashboard page of scenarios 3 and 5: the oldest `first` customers with aml and identity,
 * and each one's newest events when `withHistory` (statusHistory must be in the schema: see
 * schemaHasStatusHistory).
 */
export function dashboardQuery(withHistory: boolean, first = 50): string {
  return `query Dashboard {
  customers(first: ${first}) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id externalId type fullName email kycStatus kycStartedAt kycCompletedAt addedVia createdAt updatedAt
      identity { verifiedLegalName verifiedCountry }
      aml { status screenedAt lastReviewedAt flags { pep sanctions adverseMedia terrorism } }${withHistory ? `\n      statusHistory(first: ${HISTORY_FIRST}) { edges { node { kind occurredAt kyc { from to } aml { from to } } } }` : ''}
    } }
  }
}`;
}

/**
 * The same page in PostGraphile's own naming (scenario 5): the customers connection in the
 * gateway's order (created_at, id), the identity and AML columns, and each customer's events
 * newest first through the (org_id, customer_id) relation.
 */
export function peerDashboardQuery(withHistory: boolean, first = 50): string {
  return `query Dashboard {
  allCustomers(first: ${first}, orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      rowId externalId type fullName email kycStatus kycStartedAt kycCompletedAt addedVia createdAt updatedAt
      verifiedLegalName verifiedCountry
      amlStatus amlScreenedAt amlLastReviewedAt amlPep amlSanctions amlAdverseMedia amlTerrorism${withHistory ? `\n      customerEventsByOrgIdAndCustomerId(first: ${HISTORY_FIRST}, orderBy: ROW_ID_DESC) { edges { node { kind occurredAt kycFrom kycTo amlFrom amlTo } } }` : ''}
    } }
  }
}`;
}
