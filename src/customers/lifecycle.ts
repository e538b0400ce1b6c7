// The KYC / AML lifecycle (SPEC section 5): a pure state machine that plans a move, and the
// small transactional functions that lock the row, apply the plan and append the event.
//
// Decisions where the spec is silent:
// - `kycStartedAt` is set the first time KYC leaves NOT_STARTED (NOT_REQUIRED included) and
//   never reset; `kycCompletedAt` is set on VERIFIED / FAILED and cleared by FAILED → PENDING
//   (a new attempt is not complete).
// - `aml.screenedAt` is the time the last screening produced a result (→ CLEAR or
//   → NEEDS_REVIEW); null until the first result. A re-screening in progress keeps the
//   previous value and the previous flags until its own result lands.
// - Flags are accepted only with a result: CLEAR carries no positive flag; NEEDS_REVIEW needs
//   at least one. RESOLVED keeps the flags (what was found) and sets `lastReviewedAt`.
// - `identity` is accepted only with → VERIFIED; the country is matched case-insensitively
//   and stored upper case.
import type { PrismaClient, Tx } from '../db/client.js';
import type { Actor } from '../events/actor.js';
import { appendCustomerEvent, type NewCustomerEvent } from '../events/outbox.js';
import { AmlStatus, KycStatus } from '../generated/prisma/enums.js';
import { isAlpha3Country } from '../lib/countries.js';
import type { FieldError } from '../lib/error-codes.js';
import { checkStorableText, textLength } from '../lib/text.js';
import type { AmlFlags } from '../projection/customer.js';
import { checkCustomerRef, matchRef, pickRef } from './queries.js';
import { lockCustomers, updateCustomer, type Customer } from './row.js';

/** Allowed KYC moves: from → the statuses it may go to. VERIFIED and NOT_REQUIRED are final. */
export const KYC_TRANSITIONS: Readonly<Record<KycStatus, readonly KycStatus[]>> = {
  NOT_STARTED: [KycStatus.PENDING, KycStatus.NOT_REQUIRED],
  PENDING: [KycStatus.IN_PROGRESS],
  IN_PROGRESS: [KycStatus.VERIFIED, KycStatus.FAILED, KycStatus.AWAITING_RESUBMISSION],
  AWAITING_RESUBMISSION: [KycStatus.IN_PROGRESS],
  FAILED: [KycStatus.PENDING],
  VERIFIED: [],
  NOT_REQUIRED: [],
};

/** Allowed AML moves (only once KYC is VERIFIED). */
export const AML_TRANSITIONS: Readonly<Record<AmlStatus, readonly AmlStatus[]>> = {
  NOT_SCREENED: [AmlStatus.IN_PROGRESS],
  IN_PROGRESS: [AmlStatus.CLEAR, AmlStatus.NEEDS_REVIEW],
  NEEDS_REVIEW: [AmlStatus.RESOLVED],
  CLEAR: [AmlStatus.IN_PROGRESS],
  RESOLVED: [AmlStatus.IN_PROGRESS],
};

const LEGAL_NAME_MAX = 255;

export interface VerifiedIdentityInput {
  legalName: string;
  country: string;
}

/** Flags of a screening result; a flag left out counts as false. */
export type AmlFlagsInput = { [K in keyof AmlFlags]?: boolean | null | undefined };

/** Why a move is refused; nothing changes. */
export type Rejection =
  /** The state machine does not allow the move. */
  | { kind: 'invalid_transition'; machine: 'KYC' | 'AML'; from: string; to: string; message: string }
  /** Bad input: an unstorable reference, an identity or flags the move cannot take. */
  | { kind: 'invalid'; fieldErrors: FieldError[] };

/** The status columns a move sets. */
export type StatusChanges = Partial<
  Pick<
    Customer,
    | 'kycStatus'
    | 'kycStartedAt'
    | 'kycCompletedAt'
    | 'verifiedLegalName'
    | 'verifiedCountry'
    | 'amlStatus'
    | 'amlScreenedAt'
    | 'amlLastReviewedAt'
    | 'amlPep'
    | 'amlSanctions'
    | 'amlAdverseMedia'
    | 'amlTerrorism'
  >
>;

export type Plan = { ok: true; changes: StatusChanges } | { ok: false; rejection: Rejection };

/** True when the KYC machine allows from → to. */
function canMoveKyc(from: KycStatus, to: KycStatus): boolean {
  return KYC_TRANSITIONS[from].includes(to);
}

/** True when the AML machine allows from → to (KYC precondition not included). */
function canMoveAml(from: AmlStatus, to: AmlStatus): boolean {
  return AML_TRANSITIONS[from].includes(to);
}

const invalid = (machine: 'KYC' | 'AML', from: string, to: string, message: string): Plan => ({
  ok: false,
  rejection: { kind: 'invalid_transition', machine, from, to, message },
});
const badFields = (fieldErrors: FieldError[]): Plan => ({ ok: false, rejection: { kind: 'invalid', fieldErrors } });

/** Plans a KYC move of a customer: the column changes, or why it is rejected. Pure. */
export function planKycTransition(
  current: Pick<Customer, 'kycStatus' | 'kycStartedAt'>,
  to: KycStatus,
  identity: VerifiedIdentityInput | null | undefined,
  now: Date,
): Plan {
  const from = current.kycStatus;
  if (!canMoveKyc(from, to)) {
    const why = KYC_TRANSITIONS[from].length === 0 ? `${from} is final` : `allowed: ${KYC_TRANSITIONS[from].join(', ')}`;
    return invalid('KYC', from, to, `KYC cannot move from ${from} to ${to} (${why}).`);
  }
  const changes: StatusChanges = { kycStatus: to };
  if (from === KycStatus.NOT_STARTED && !current.kycStartedAt) changes.kycStartedAt = now;
  if (to === KycStatus.VERIFIED || to === KycStatus.FAILED) changes.kycCompletedAt = now;
  if (from === KycStatus.FAILED) changes.kycCompletedAt = null;

  if (to !== KycStatus.VERIFIED) {
    if (identity) return badFields([{ field: 'identity', message: 'identity is only accepted when moving to VERIFIED' }]);
    return { ok: true, changes };
  }
  if (!identity) return badFields([{ field: 'identity', message: 'VERIFIED requires the verified identity (legalName, country)' }]);
  const errors: FieldError[] = [];
  const legalName = identity.legalName.trim();
  const unstorable = checkStorableText(legalName, 'identity.legalName');
  if (unstorable) errors.push(unstorable);
  else if (legalName.length < 1 || textLength(legalName) > LEGAL_NAME_MAX) {
    errors.push({ field: 'identity.legalName', message: `must be 1 to ${LEGAL_NAME_MAX} characters` });
  }
  const country = identity.country.trim().toUpperCase();
  if (!isAlpha3Country(country))
    errors.push({ field: 'identity.country', message: 'must be an ISO 3166-1 alpha-3 country code, e.g. GBR' });
  if (errors.length) return badFields(errors);
  changes.verifiedLegalName = legalName;
  changes.verifiedCountry = country;
  return { ok: true, changes };
}

/** Plans an AML move (a screening step or its result). Pure. */
export function planAmlTransition(
  current: Pick<Customer, 'kycStatus' | 'amlStatus'>,
  to: AmlStatus,
  flags: AmlFlagsInput | null | undefined,
  now: Date,
): Plan {
  const from = current.amlStatus;
  if (current.kycStatus !== KycStatus.VERIFIED) {
    return invalid('AML', from, to, `AML screening requires KYC VERIFIED (KYC is ${current.kycStatus}).`);
  }
  if (!canMoveAml(from, to)) {
    return invalid('AML', from, to, `AML cannot move from ${from} to ${to} (allowed: ${AML_TRANSITIONS[from].join(', ')}).`);
  }
  const changes: StatusChanges = { amlStatus: to };
  const isResult = to === AmlStatus.CLEAR || to === AmlStatus.NEEDS_REVIEW;
  if (!isResult) {
    if (flags) return badFields([{ field: 'flags', message: 'flags are only accepted with a screening result (CLEAR or NEEDS_REVIEW)' }]);
    if (to === AmlStatus.RESOLVED) changes.amlLastReviewedAt = now;
    return { ok: true, changes };
  }
  const f: AmlFlags = {
    pep: !!flags?.pep,
    sanctions: !!flags?.sanctions,
    adverseMedia: !!flags?.adverseMedia,
    terrorism: !!flags?.terrorism,
  };
  const positive = f.pep || f.sanctions || f.adverseMedia || f.terrorism;
  if (to === AmlStatus.CLEAR && positive) return badFields([{ field: 'flags', message: 'a CLEAR result cannot carry a positive flag' }]);
  if (to === AmlStatus.NEEDS_REVIEW && !positive)
    return badFields([{ field: 'flags', message: 'NEEDS_REVIEW requires at least one positive flag' }]);
  Object.assign(changes, {
    amlScreenedAt: now,
    amlPep: f.pep,
    amlSanctions: f.sanctions,
    amlAdverseMedia: f.adverseMedia,
    amlTerrorism: f.terrorism,
  });
  return { ok: true, changes };
}

/** The outcome of a move: the customer after it, or why nothing changed. */
export type LifecycleResult = { kind: 'moved'; customer: Customer } | Rejection | { kind: 'not_found' };

/** One state-machine move: how to plan it over the locked customer, and the event it appends. */
interface Move {
  plan: (c: Customer) => Plan;
  event: (before: Customer, after: Customer) => Omit<NewCustomerEvent, 'actor'>;
}

/** What the KYC move takes: the status to move to, and the verified identity with VERIFIED. */
export interface KycMoveInput {
  to: KycStatus;
  identity?: VerifiedIdentityInput | null | undefined;
}

/** What an AML step takes: the status, and its findings with CLEAR or NEEDS_REVIEW. */
export interface AmlStepInput {
  status: AmlStatus;
  flags?: AmlFlagsInput | null | undefined;
}

/** A move inside the caller's transaction (the signature both moves share). */
type ApplyMove<I> = (tx: Tx, orgId: string, idOrExternalId: string, input: I, now: Date, actor: Actor) => Promise<LifecycleResult>;

/** A move in its own transaction. */
export type RunMove<I> = (
  prisma: PrismaClient,
  orgId: string,
  idOrExternalId: string,
  input: I,
  now: Date,
  actor: Actor,
) => Promise<LifecycleResult>;

/**
 * Locks the customer a reference names (FOR UPDATE, within the organisation), plans the move
 * over it, and sends the update with its event: two statements. The move's `updatedAt` is the
 * clock, at least 1 ms after the previous value (customers/row.ts).
 */
async function applyMove(tx: Tx, orgId: string, idOrExternalId: string, now: Date, actor: Actor, move: Move): Promise<LifecycleResult> {
  const ref = checkCustomerRef(idOrExternalId);
  if (ref.kind === 'invalid') return { kind: 'invalid', fieldErrors: [ref.fieldError] };
  if (ref.kind === 'none') return { kind: 'not_found' };
  // An id-shaped value may also be another customer's external id: both are locked, and the
  // customer whose id matches wins.
  const before = pickRef(await lockCustomers(tx, orgId, matchRef(ref.ref)), ref.ref);
  if (!before) return { kind: 'not_found' };
  const planned = move.plan(before);
  if (!planned.ok) return planned.rejection;
  const { statement, after } = updateCustomer(before, planned.changes, now);
  await appendCustomerEvent(tx, { ...move.event(before, after), actor }, [statement]);
  return { kind: 'moved', customer: after };
}

/** Moves KYC inside the caller's transaction: lock, validate, update, append the KYC event. */
export const applyKycTransition: ApplyMove<KycMoveInput> = (tx, orgId, idOrExternalId, input, now, actor) =>
  applyMove(tx, orgId, idOrExternalId, now, actor, {
    plan: (c) => planKycTransition(c, input.to, input.identity, now),
    event: (before, after) => ({ kind: 'KYC', customer: after, kycFrom: before.kycStatus, kycTo: after.kycStatus }),
  });

/** Records an AML step inside the caller's transaction: lock, validate, update, append the AML event. */
const applyAmlScreening: ApplyMove<AmlStepInput> = (tx, orgId, idOrExternalId, input, now, actor) =>
  applyMove(tx, orgId, idOrExternalId, now, actor, {
    plan: (c) => planAmlTransition(c, input.status, input.flags, now),
    event: (before, after) => ({ kind: 'AML', customer: after, amlFrom: before.amlStatus, amlTo: after.amlStatus }),
  });

/** Moves KYC in its own transaction (see applyKycTransition). */
export const transitionKyc: RunMove<KycMoveInput> = (prisma, orgId, idOrExternalId, input, now, actor) =>
  prisma.$transaction((tx) => applyKycTransition(tx, orgId, idOrExternalId, input, now, actor));

/** Records an AML step in its own transaction (see applyAmlScreening). */
export const recordAmlScreening: RunMove<AmlStepInput> = (prisma, orgId, idOrExternalId, input, now, actor) =>
  prisma.$transaction((tx) => applyAmlScreening(tx, orgId, idOrExternalId, input, now, actor));
