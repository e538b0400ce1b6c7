// What each public customer field and each status value means (SPEC sections 3 and 5), written
// once for every surface: the GraphQL schema's descriptions and the OpenAPI document both render
// these words. The records are keyed by the public shape and the enums, so a new field or status
// does not compile until it is described. Field names are left out of the text because the two
// surfaces spell them differently (camelCase / snake_case).
import type { AddedVia, AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';
import type { AmlFlags, PublicAml, PublicCustomer, PublicIdentity } from '../projection/customer.js';

/** The public fields of a customer. */
export const CUSTOMER_FIELD_DOCS: Readonly<Record<keyof PublicCustomer, string>> = {
  id: 'Assigned by the gateway (a UUID). Reads and updates accept it or the external id.',
  externalId:
    "The caller's CRM id, at most 255 characters; unique within the organisation and immutable once set. Null when none was ever given.",
  type: 'Individual or sole trader; set on creation (individual by default) and never changed.',
  fullName: 'Full name, 1 to 255 characters. Frozen once KYC is VERIFIED.',
  email:
    'Email address as the caller spelled it, at most 255 characters; unique within the organisation, compared case-insensitively. Frozen once KYC is VERIFIED. Null when the record has none.',
  kycStatus: 'KYC (identity verification) status. Only the back office moves it.',
  kycStartedAt: 'When KYC first left NOT_STARTED (ISO-8601, UTC). Null until then.',
  kycCompletedAt:
    'When KYC reached VERIFIED or FAILED (ISO-8601, UTC). Null until then, and again while a new attempt after FAILED is under way.',
  identity: 'The identity KYC established. Present only while KYC is VERIFIED, null otherwise.',
  aml: 'The AML (anti-money-laundering) screening block.',
  addedVia: 'How the record entered the platform; INTEGRATION for records created through this gateway. Never changes.',
  createdAt: 'When the record was created (ISO-8601, UTC).',
  updatedAt: 'When the record last changed (ISO-8601, UTC): every write, status moves included. A write that changes nothing keeps it.',
};

/** The AML block of a customer. */
export const AML_FIELD_DOCS: Readonly<Record<keyof PublicAml, string>> = {
  status: 'AML screening status. Only the back office moves it, and only once KYC is VERIFIED.',
  screenedAt:
    'When the last screening produced a result, CLEAR or NEEDS_REVIEW (ISO-8601, UTC). Null until the first result; a re-screening in progress keeps the previous value.',
  lastReviewedAt: 'When a compliance officer last resolved a NEEDS_REVIEW result (ISO-8601, UTC). Null until then.',
  flags: 'What the last screening result found. All false until the first result; a re-screening in progress keeps the previous findings.',
};

/** The findings of an AML screening result. */
export const AML_FLAG_DOCS: Readonly<Record<keyof AmlFlags, string>> = {
  pep: 'The customer is a politically exposed person, or a relative or close associate of one.',
  sanctions: 'The customer matches a sanctions list.',
  adverseMedia: 'Adverse media (negative news) was found about the customer.',
  terrorism: 'The customer matches a terrorism or terrorist-financing list.',
};

/** The identity KYC established. */
export const IDENTITY_FIELD_DOCS: Readonly<Record<keyof PublicIdentity, string>> = {
  verifiedLegalName: 'Legal name as verified by KYC, 1 to 255 characters.',
  verifiedCountry: 'Country of the verified identity: ISO 3166-1 alpha-3 code, upper case (e.g. GBR).',
};

/** The KYC statuses and the moves the back office may make from each (SPEC section 5). */
export const KYC_STATUS_DOCS: Readonly<Record<KycStatus, string>> = {
  NOT_STARTED: 'No KYC yet; every new customer starts here. Next: PENDING or NOT_REQUIRED.',
  PENDING: 'KYC was requested and has not begun. Next: IN_PROGRESS.',
  IN_PROGRESS: 'Identity verification is under way. Next: VERIFIED, FAILED or AWAITING_RESUBMISSION.',
  AWAITING_RESUBMISSION: 'The customer must send documents again. Next: IN_PROGRESS.',
  VERIFIED: 'Identity verified; the verified identity is set. Final. Full name and email are frozen from here on.',
  FAILED: 'Verification failed. Next: PENDING (a new attempt).',
  NOT_REQUIRED: 'KYC is not required for this customer. Final.',
};

/** The AML statuses and the moves the back office may make from each (SPEC section 5). */
export const AML_STATUS_DOCS: Readonly<Record<AmlStatus, string>> = {
  NOT_SCREENED: 'Never screened; every new customer starts here. Next: IN_PROGRESS, once KYC is VERIFIED.',
  IN_PROGRESS: 'A screening is running. Next: CLEAR or NEEDS_REVIEW.',
  CLEAR: 'The last screening found nothing (every flag false). Next: IN_PROGRESS (re-screening).',
  NEEDS_REVIEW: 'The last screening found something (at least one flag true); a compliance officer must review it. Next: RESOLVED.',
  RESOLVED: 'A compliance officer reviewed the findings; the flags keep what was found. Next: IN_PROGRESS (re-screening).',
};

/** The customer types. */
export const CUSTOMER_TYPE_DOCS: Readonly<Record<CustomerType, string>> = {
  INDIVIDUAL: 'A natural person acting for themselves (the default).',
  SOLE_TRADER: 'A natural person trading in their own name.',
};

/** The channels a customer record can come from. */
export const ADDED_VIA_DOCS: Readonly<Record<AddedVia, string>> = {
  ADMIN_MANUAL: 'Entered by hand in the platform.',
  AI_EXTRACTED: 'Extracted automatically from documents.',
  CONTACT_PORTAL: 'Submitted by the customer through the contact portal.',
  BULK_IMPORT: 'Loaded by a bulk import.',
  INTEGRATION: 'Created through an API integration, such as this gateway.',
  SYSTEM: 'Created by the platform itself.',
};
