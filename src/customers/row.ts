// The customer row as the domain handles it: the Prisma model's type, the email key derived
// from the email, and a row rebuilt from a public snapshot.
import type { Customer } from '../generated/prisma/client.js';
import type { PublicCustomer } from '../projection/customer.js';

export type { Customer };

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
