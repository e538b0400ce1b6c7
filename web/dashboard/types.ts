// The shapes the page reads from the public GraphQL API (schema.graphql), as selected by
// operations.ts. test/dashboard.test.ts validates those operations against the schema.

export type KycStatus = 'NOT_STARTED' | 'PENDING' | 'IN_PROGRESS' | 'AWAITING_RESUBMISSION' | 'VERIFIED' | 'FAILED' | 'NOT_REQUIRED';
export type AmlStatus = 'NOT_SCREENED' | 'IN_PROGRESS' | 'CLEAR' | 'NEEDS_REVIEW' | 'RESOLVED';
export type CustomerType = 'INDIVIDUAL' | 'SOLE_TRADER';
export type AddedVia = 'ADMIN_MANUAL' | 'AI_EXTRACTED' | 'CONTACT_PORTAL' | 'BULK_IMPORT' | 'INTEGRATION' | 'SYSTEM';
export type EventKind = 'CREATED' | 'UPDATED' | 'ADOPTED' | 'KYC' | 'AML';
export type ActorKind = 'API_KEY' | 'SYSTEM' | 'UNKNOWN';

export interface AmlFlags {
  pep: boolean;
  sanctions: boolean;
  adverseMedia: boolean;
  terrorism: boolean;
}

/** A customer as the list shows it (fragment DashboardCustomerRow). */
export interface CustomerRow {
  id: string;
  externalId: string | null;
  fullName: string;
  email: string | null;
  type: CustomerType;
  kycStatus: KycStatus;
  aml: { status: AmlStatus };
  updatedAt: string;
}

export interface Actor {
  kind: ActorKind;
  keyId: string | null;
  keyLabel: string | null;
}

export interface Move<S> {
  from: S;
  to: S;
}

export interface HistoryEvent {
  id: string;
  kind: EventKind;
  occurredAt: string;
  kyc: Move<KycStatus> | null;
  aml: Move<AmlStatus> | null;
  actor: Actor;
}

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A customer as the panel shows it (fragment DashboardCustomerDetail). */
export interface CustomerDetail extends Omit<CustomerRow, 'aml'> {
  addedVia: AddedVia;
  createdAt: string;
  kycStartedAt: string | null;
  kycCompletedAt: string | null;
  identity: { verifiedLegalName: string; verifiedCountry: string } | null;
  aml: { status: AmlStatus; screenedAt: string | null; lastReviewedAt: string | null; flags: AmlFlags };
  statusHistory: { edges: { node: HistoryEvent }[]; pageInfo: PageInfo };
}

/** One message of customerStatusChanged. */
export interface StatusChange {
  cursor: string;
  kind: 'KYC' | 'AML';
  occurredAt: string;
  kyc: Move<KycStatus> | null;
  aml: Move<AmlStatus> | null;
  actor: Actor;
  customer: CustomerRow;
}

export interface Stats {
  total: number;
  kyc: { status: KycStatus; count: number }[];
  aml: { status: AmlStatus; count: number }[];
}

export interface Viewer {
  organization: { id: string; name: string };
  scopes: string[];
}

/** The list's filter, as CustomerFilter takes it (fields left out filter nothing). */
export interface CustomerFilter {
  kycStatus?: KycStatus[];
  amlStatus?: AmlStatus[];
  search?: string;
  type?: CustomerType;
  updatedSince?: string;
}

export interface CustomerPage {
  totalCount: number;
  edges: { cursor: string; node: CustomerRow }[];
  pageInfo: PageInfo;
}

/** An expected failure of a mutation (the schema's Error interface and its members' fields). */
export interface MutationError {
  __typename: 'CustomerNotFoundError' | 'InvalidTransitionError' | 'ValidationError';
  code: string;
  message: string;
  fieldErrors?: { field: string; message: string }[];
}

export type TransitionResult =
  { __typename: 'TransitionKycSuccess' | 'RecordAmlScreeningSuccess'; customer: { id: string } } | MutationError;
