// The public view of a customer (SPEC section 3): the only shape that ever leaves the gateway
// in a response, an event snapshot or a webhook payload. Phone, risk answers and organisation
// ids are deliberately absent. It stands below the domain: customers/ projects its rows with
// it, events/ stores it as the snapshot of every change, webhooks/ and the surfaces render it.
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

/** The fields the public customer and the row it is projected from share, as they are. */
interface CustomerCore {
  id: string;
  externalId: string | null;
  type: CustomerType;
  fullName: string;
  email: string | null;
  kycStatus: KycStatus;
}

export interface PublicCustomer extends CustomerCore {
  kycStartedAt: string | null;
  kycCompletedAt: string | null;
  identity: PublicIdentity | null;
  aml: PublicAml;
  addedVia: AddedVia;
  createdAt: string;
  updatedAt: string;
}

/**
 * A timestamp as a customer row carries it: a `Date` in a Prisma row, or already the ISO text
 * `toISOString` writes (UTC, milliseconds) in the rows the read statements select
 * (customers/queries.ts formats it in SQL, so that a page makes no `Date` per value).
 */
export type Timestamp = Date | string;

/**
 * The columns of a customer the public projection reads, and nothing else: what the read
 * statements select (never phone, risk answers, email_key or org_id), and what the GraphQL
 * Customer type renders. A Prisma `Customer` row is one too (its timestamps are `Date`s), so
 * writes hand their rows over unchanged.
 */
export interface CustomerPublicRow extends CustomerCore {
  kycStartedAt: Timestamp | null;
  kycCompletedAt: Timestamp | null;
  verifiedLegalName: string | null;
  verifiedCountry: string | null;
  amlStatus: AmlStatus;
  amlScreenedAt: Timestamp | null;
  amlLastReviewedAt: Timestamp | null;
  amlPep: boolean;
  amlSanctions: boolean;
  amlAdverseMedia: boolean;
  amlTerrorism: boolean;
  addedVia: AddedVia;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** A row's timestamp in the public (ISO, UTC) form. */
export function isoOf(d: Timestamp): string {
  return typeof d === 'string' ? d : d.toISOString();
}
const iso = (d: Timestamp | null): string | null => (d === null ? null : isoOf(d));

/** The verified identity, present only while KYC is VERIFIED. */
export function identityOf(c: Pick<CustomerPublicRow, 'kycStatus' | 'verifiedLegalName' | 'verifiedCountry'>): PublicIdentity | null {
  if (c.kycStatus !== 'VERIFIED' || !c.verifiedLegalName || !c.verifiedCountry) return null;
  return { verifiedLegalName: c.verifiedLegalName, verifiedCountry: c.verifiedCountry };
}

/** The AML block of a customer. */
export function amlOf(
  c: Pick<
    CustomerPublicRow,
    'amlStatus' | 'amlScreenedAt' | 'amlLastReviewedAt' | 'amlPep' | 'amlSanctions' | 'amlAdverseMedia' | 'amlTerrorism'
  >,
): PublicAml {
  return {
    status: c.amlStatus,
    screenedAt: iso(c.amlScreenedAt),
    lastReviewedAt: iso(c.amlLastReviewedAt),
    flags: { pep: c.amlPep, sanctions: c.amlSanctions, adverseMedia: c.amlAdverseMedia, terrorism: c.amlTerrorism },
  };
}

/** Projects a stored customer onto its public fields. */
export function toPublicCustomer(c: CustomerPublicRow): PublicCustomer {
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
    createdAt: isoOf(c.createdAt),
    updatedAt: isoOf(c.updatedAt),
  };
}
