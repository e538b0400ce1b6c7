// camelCase domain → snake_case REST bodies (SPEC section 6). The REST shape of a customer is
// derived from the public projection only, so nothing write-only or internal can leak.
import type { PublicAml, PublicCustomer } from '../customers/dto.js';

export interface RestAml {
  status: string;
  screened_at: string | null;
  last_reviewed_at: string | null;
  flags: { pep: boolean; sanctions: boolean; adverse_media: boolean; terrorism: boolean };
}

export interface RestCustomer {
  id: string;
  external_id: string | null;
  type: string;
  full_name: string;
  email: string | null;
  kyc_status: string;
  kyc_started_at: string | null;
  kyc_completed_at: string | null;
  identity: { verified_legal_name: string; verified_country: string } | null;
  aml: RestAml;
  added_via: string;
  created_at: string;
  updated_at: string;
}

export function renderAml(a: PublicAml): RestAml {
  return {
    status: a.status,
    screened_at: a.screenedAt,
    last_reviewed_at: a.lastReviewedAt,
    flags: { pep: a.flags.pep, sanctions: a.flags.sanctions, adverse_media: a.flags.adverseMedia, terrorism: a.flags.terrorism },
  };
}

export function renderCustomer(c: PublicCustomer): RestCustomer {
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
