// The public view of a customer (SPEC section 3): the only shape that ever leaves the gateway
// in a response, an event snapshot or a webhook payload. Phone, risk answers and organisation
// ids are deliberately absent. It stands below the domain: customers/ projects its rows with
// it, events/ stores it as the snapshot of every change, webhooks/ and the surfaces render it.
import type { Customer } from '../generated/prisma/client.js';
import type { AddedVia, AmlStatus, CustomerType, KycStatus } from '../generated/prisma/enums.js';

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
