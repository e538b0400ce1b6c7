// What the statuses are called and coloured on the page, and which moves the back office may
// offer: the state machines are the server's own (compiled in from customers/lifecycle.ts),
// so a button is shown exactly when the server would accept the move.
import type { AmlStatus, CustomerType, KycStatus } from './types.js';

/** KYC statuses in the order a customer goes through them. */
export const KYC_LABELS: Readonly<Record<KycStatus, string>> = {
  NOT_STARTED: 'Not started',
  PENDING: 'Pending',
  IN_PROGRESS: 'In progress',
  AWAITING_RESUBMISSION: 'Awaiting resubmission',
  VERIFIED: 'Verified',
  FAILED: 'Failed',
  NOT_REQUIRED: 'Not required',
};

export const AML_LABELS: Readonly<Record<AmlStatus, string>> = {
  NOT_SCREENED: 'Not screened',
  IN_PROGRESS: 'In progress',
  CLEAR: 'Clear',
  NEEDS_REVIEW: 'Needs review',
  RESOLVED: 'Resolved',
};

export const TYPE_LABELS: Readonly<Record<CustomerType, string>> = {
  INDIVIDUAL: 'Individual',
  SOLE_TRADER: 'Sole trader',
};

export const KYC_STATUSES = Object.keys(KYC_LABELS) as KycStatus[];
export const AML_STATUSES = Object.keys(AML_LABELS) as AmlStatus[];

/** Colour family of each status (CSS class `tone-<tone>`). */
export type Tone = 'neutral' | 'waiting' | 'active' | 'attention' | 'good' | 'bad' | 'resolved' | 'muted';

export const KYC_TONES: Readonly<Record<KycStatus, Tone>> = {
  NOT_STARTED: 'neutral',
  PENDING: 'waiting',
  IN_PROGRESS: 'active',
  AWAITING_RESUBMISSION: 'attention',
  VERIFIED: 'good',
  FAILED: 'bad',
  NOT_REQUIRED: 'muted',
};

export const AML_TONES: Readonly<Record<AmlStatus, Tone>> = {
  NOT_SCREENED: 'neutral',
  IN_PROGRESS: 'active',
  CLEAR: 'good',
  NEEDS_REVIEW: 'bad',
  RESOLVED: 'resolved',
};

const LIFECYCLE = __DASHBOARD_LIFECYCLE__;

/** The KYC statuses the back office may move a customer to from `from`. */
export function kycMoves(from: KycStatus): readonly KycStatus[] {
  return LIFECYCLE.kyc[from] ?? [];
}

/** The AML steps allowed now: none until KYC is VERIFIED (SPEC section 5). */
export function amlMoves(kyc: KycStatus, from: AmlStatus): readonly AmlStatus[] {
  return kyc === 'VERIFIED' ? (LIFECYCLE.aml[from] ?? []) : [];
}

/** AML steps that record a screening result, and so carry the four flags. */
export function isAmlResult(status: AmlStatus): boolean {
  return status === 'CLEAR' || status === 'NEEDS_REVIEW';
}
