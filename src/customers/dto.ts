// The public view of a customer (SPEC section 3): the only shape that ever leaves the domain
// layer in a response or an event snapshot. Phone, risk answers and organisation ids are
// deliberately absent.
import type { Customer } from '../generated/prisma/client.js';
import type { AddedVia, AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';

export type { Customer };

export interface AmlFlags {
  pep: boolean;
  sanctions: boolean;
  adverseMedia: boolean;
  terrorism: boolean;
}

export interface PublicAml {
  status: AmlStatus;
  screenedAt: string | null;
  lastReviewedAt: string | null;
  flags: AmlFlags;
}

export interface PublicIdentity {
  verifiedLegalName: string;
  verifiedCountry: string;
}

export interface PublicCustomer {
  id: string;
  externalId: string | null;
  type: CustomerType;
  fullName: string;
  email: string | null;
  kycStatus: KycStatus;
  kycStartedAt: string | null;
  kycCompletedAt: string | null;
  identity: PublicIdentity | null;
  aml: PublicAml;
  addedVia: AddedVia;
  createdAt: string;
  updatedAt: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The verified identity, present only while KYC is VERIFIED. */
export function identityOf(c: Pick<Customer, 'kycStatus' | 'verifiedLegalName' | 'verifiedCountry'>): PublicIdentity | null {
  if (c.kycStatus !== 'VERIFIED' || !c.verifiedLegalName || !c.verifiedCountry) return null;
  return { verifiedLegalName: c.verifiedLegalName, verifiedCountry: c.verifiedCountry };
}

/** The AML block of a customer. */
export function amlOf(
  c: Pick<Customer, 'amlStatus' | 'amlScreenedAt' | 'amlLastReviewedAt' | 'amlPep' | 'amlSanctions' | 'amlAdverseMedia' | 'amlTerrorism'>,
): PublicAml {
  return {
    status: c.amlStatus,
    screenedAt: iso(c.amlScreenedAt),
    lastReviewedAt: iso(c.amlLastReviewedAt),
    flags: { pep: c.amlPep, sanctions: c.amlSanctions, adverseMedia: c.amlAdverseMedia, terrorism: c.amlTerrorism },
  };
}

/** Projects a stored customer onto its public fields. */
export function toPublicCustomer(c: Customer): PublicCustomer {
  return {
    id: c.id,
    externalId: c.externalId,
    type: c.type,
    fullName: c.fullName,
    email: c.email,
    kycStatus: c.kycStatus,
    kycStartedAt: iso(c.kycStartedAt),
    kycCompletedAt: iso(c.kycCompletedAt),
    identity: identityOf(c),
    aml: amlOf(c),
    addedVia: c.addedVia,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

const date = (s: string | null): Date | null => (s ? new Date(s) : null);

/**
 * Rebuilds a customer row from an event snapshot so that the GraphQL `Customer` type can
 * render it without a database read. Write-only fields are unknown there and left empty:
 * they are never rendered anyway.
 */
export function customerFromSnapshot(orgId: string, s: PublicCustomer): Customer {
  return {
    id: s.id,
    orgId,
    externalId: s.externalId,
    type: s.type,
    fullName: s.fullName,
    email: s.email,
    emailKey: s.email === null ? null : normaliseEmail(s.email),
    phone: null,
    riskIsNewCustomer: null,
    riskIsDesignatedService: null,
    riskHandlesCashOrCrypto: null,
    kycStatus: s.kycStatus,
    kycStartedAt: date(s.kycStartedAt),
    kycCompletedAt: date(s.kycCompletedAt),
    verifiedLegalName: s.identity?.verifiedLegalName ?? null,
    verifiedCountry: s.identity?.verifiedCountry ?? null,
    amlStatus: s.aml.status,
    amlScreenedAt: date(s.aml.screenedAt),
    amlLastReviewedAt: date(s.aml.lastReviewedAt),
    amlPep: s.aml.flags.pep,
    amlSanctions: s.aml.flags.sanctions,
    amlAdverseMedia: s.aml.flags.adverseMedia,
    amlTerrorism: s.aml.flags.terrorism,
    addedVia: s.addedVia,
    createdAt: new Date(s.createdAt),
    updatedAt: new Date(s.updatedAt),
  };
}

/** Email matching key: trimmed and lower-cased; the stored email keeps the caller's spelling. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

// The snake_case rendering (SPEC section 6): the customer DTO of REST bodies and of webhook
// payloads. Derived from the public projection only, so nothing write-only or internal can leak.

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
