// The snake_case rendering (SPEC section 6): the customer DTO of REST bodies and of webhook
// payloads (SPEC section 10), which send the very same shape. Derived from the public
// projection only, so nothing write-only or internal can leak.
import type { PublicAml, PublicCustomer } from './customer.js';

export interface SnakeCaseAml {
  status: string;
  screened_at: string | null;
  last_reviewed_at: string | null;
  flags: { pep: boolean; sanctions: boolean; adverse_media: boolean; terrorism: boolean };
}

export interface SnakeCaseCustomer {
  id: string;
  external_id: string | null;
  type: string;
  full_name: string;
  email: string | null;
  kyc_status: string;
  kyc_started_at: string | null;
  kyc_completed_at: string | null;
  identity: { verified_legal_name: string; verified_country: string } | null;
  aml: SnakeCaseAml;
  added_via: string;
  created_at: string;
  updated_at: string;
}

/** The snake_case AML block (REST bodies, webhook payloads). */
export function renderAml(a: PublicAml): SnakeCaseAml {
  return {
    status: a.status,
    screened_at: a.screenedAt,
    last_reviewed_at: a.lastReviewedAt,
    flags: { pep: a.flags.pep, sanctions: a.flags.sanctions, adverse_media: a.flags.adverseMedia, terrorism: a.flags.terrorism },
  };
}

/** The snake_case customer: the REST body and the `data.customer` of webhook payloads, derived from the public projection only. */
export function renderCustomer(c: PublicCustomer): SnakeCaseCustomer {
  return {
    id: c.id,
    external_id: c.externalId,
    type: c.type,
    full_name: c.fullName,
    email: c.email,
    kyc_status: c.kycStatus,
    kyc_started_at: c.kycStartedAt,
    kyc_completed_at: c.kycCompletedAt,
    identity: c.identity ? { verified_legal_name: c.identity.verifiedLegalName, verified_country: c.identity.verifiedCountry } : null,
    aml: renderAml(c.aml),
    added_via: c.addedVia,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}
