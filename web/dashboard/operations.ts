// Every GraphQL operation the dashboard sends: the reference for dashboard builders. Only the
// public schema is used (schema.graphql); test/dashboard.test.ts validates each document
// against it and checks it fits the gateway's default document limits.

const ROW = /* GraphQL */ `
  fragment DashboardCustomerRow on Customer {
    id
    externalId
    fullName
    email
    type
    kycStatus
    aml {
      status
    }
    updatedAt
  }
`;

/** History page size in the panel. */
export const HISTORY_PAGE = 20;

/** A history entry's fields (inlined: graphql-armor counts each fragment spread as a level). */
const HISTORY_EVENT_FIELDS = /* GraphQL */ `
  id
  kind
  occurredAt
  kyc {
    from
    to
  }
  aml {
    from
    to
  }
  actor {
    kind
    keyId
    keyLabel
  }
`;

const ERRORS = /* GraphQL */ `
  ... on Error {
    code
    message
  }
  ... on ValidationError {
    fieldErrors {
      field
      message
    }
  }
`;

/** Sign-in: is the key valid, for which organisation, with which scopes. */
export const VIEWER = /* GraphQL */ `
  query DashboardViewer {
    viewer {
      organization {
        id
        name
      }
      scopes
    }
  }
`;

/** The tiles: one count per KYC and per AML status. */
export const STATS = /* GraphQL */ `
  query DashboardStats {
    customerStats {
      total
      kyc {
        status
        count
      }
      aml {
        status
        count
      }
    }
  }
`;

/** One page of the list (forward-only cursors; the page keeps the stack to go back). */
export const CUSTOMERS = /* GraphQL */ `
  query DashboardCustomers($first: Int!, $after: String, $filter: CustomerFilter) {
    customers(first: $first, after: $after, filter: $filter) {
      totalCount
      edges {
        cursor
        node {
          ...DashboardCustomerRow
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${ROW}
`;

/**
 * The panel: a customer with its identity, AML block and audit trail. Its fields are written
 * out rather than spread from fragments, which keeps it 8 deep under the gateway's default
 * depth limit of 10 (each spread counts as a level).
 */
export const CUSTOMER = /* GraphQL */ `
  query DashboardCustomer($id: ID!) {
    customer(id: $id) {
      ...DashboardCustomerRow
      addedVia
      createdAt
      kycStartedAt
      kycCompletedAt
      identity {
        verifiedLegalName
        verifiedCountry
      }
      aml {
        status
        screenedAt
        lastReviewedAt
        flags {
          pep
          sanctions
          adverseMedia
          terrorism
        }
      }
      statusHistory(first: ${HISTORY_PAGE}) {
        edges {
          node {
            ${HISTORY_EVENT_FIELDS}
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
  ${ROW}
`;

/** Older history entries of the panel. */
export const CUSTOMER_HISTORY = /* GraphQL */ `
  query DashboardCustomerHistory($id: ID!, $historyAfter: String!) {
    customer(id: $id) {
      id
      statusHistory(first: ${HISTORY_PAGE}, after: $historyAfter) {
        edges {
          node {
            ${HISTORY_EVENT_FIELDS}
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

/**
 * A KYC move (back office, compliance:write). The answer carries only the customer's id: the
 * panel then reads it with CUSTOMER (the audit trail nested in a mutation's answer would be
 * deeper than the gateway's default depth limit of 10).
 */
export const TRANSITION_KYC = /* GraphQL */ `
  mutation DashboardTransitionKyc($id: ID!, $to: KycStatus!, $identity: VerifiedIdentityInput) {
    transitionKyc(id: $id, to: $to, identity: $identity) {
      __typename
      ... on TransitionKycSuccess {
        customer {
          id
        }
      }
      ${ERRORS}
    }
  }
`;

/** An AML step (back office, compliance:write); answered like TRANSITION_KYC. */
export const RECORD_AML = /* GraphQL */ `
  mutation DashboardRecordAml($id: ID!, $status: AmlStatus!, $flags: AmlFlagsInput) {
    recordAmlScreening(id: $id, status: $status, flags: $flags) {
      __typename
      ... on RecordAmlScreeningSuccess {
        customer {
          id
        }
      }
      ${ERRORS}
    }
  }
`;

/** The live feed: every KYC / AML change of the organisation, resumed with `after`. */
export const STATUS_CHANGES = /* GraphQL */ `
  subscription DashboardStatusChanges($after: String) {
    customerStatusChanged(after: $after) {
      cursor
      kind
      occurredAt
      kyc {
        from
        to
      }
      aml {
        from
        to
      }
      actor {
        kind
        keyId
        keyLabel
      }
      customer {
        ...DashboardCustomerRow
      }
    }
  }
  ${ROW}
`;

/** Every document, by name (for the schema test). */
export const OPERATIONS = { VIEWER, STATS, CUSTOMERS, CUSTOMER, CUSTOMER_HISTORY, TRANSITION_KYC, RECORD_AML, STATUS_CHANGES };
