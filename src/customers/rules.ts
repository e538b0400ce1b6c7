// The match rules of SPEC section 4 as pure decisions over data: given a valid input and the
// candidate records found by external id and by email, say what to do. No database here; the
// transactional code in upsert.ts finds (and locks) the candidates and applies the decision.
import type { FieldError } from '../lib/error-codes.js';
import { CREATED_VIA, normaliseEmail, type Customer } from './row.js';
import type { PatchInput, RiskInput, UpsertInput } from './validation.js';

export const UpsertOutcome = { Created: 'CREATED', Updated: 'UPDATED', Adopted: 'ADOPTED' } as const;
export type UpsertOutcome = (typeof UpsertOutcome)[keyof typeof UpsertOutcome];

/** The columns an integrator's write may set (its fields, and the email key that follows the email). */
export interface FieldChanges {
  externalId?: string;
  fullName?: string;
  email?: string;
  emailKey?: string;
  phone?: string | null;
  riskIsNewCustomer?: boolean | null;
  riskIsDesignatedService?: boolean | null;
  riskHandlesCashOrCrypto?: boolean | null;
}

export interface NewCustomer {
  externalId: string | null;
  type: Customer['type'];
  fullName: string;
  email: string;
  emailKey: string;
  phone: string | null;
  riskIsNewCustomer: boolean | null;
  riskIsDesignatedService: boolean | null;
  riskHandlesCashOrCrypto: boolean | null;
  addedVia: typeof CREATED_VIA;
}

export type Decision =
  | { kind: 'create'; data: NewCustomer }
  /** `changes` is empty when the input matches the record already: nothing to write. */
  | { kind: 'update'; outcome: typeof UpsertOutcome.Updated | typeof UpsertOutcome.Adopted; target: Customer; changes: FieldChanges }
  /** The email belongs to another customer: change nothing. */
  | { kind: 'conflict'; field: 'email' }
  /** Frozen identity: a VERIFIED customer's name or email would change; `fieldErrors` names them. */
  | { kind: 'frozen'; fieldErrors: FieldError[] };

export interface Candidates {
  /** The customer of the organisation with the input's externalId, if any. */
  byExternalId: Customer | null;
  /** The customer of the organisation whose email matches (trimmed, lower-cased), if any. */
  byEmail: Customer | null;
}

export const FROZEN_MESSAGE = 'cannot change once KYC is VERIFIED';

/** Decides create / update / adopt / conflict for an upsert (SPEC section 4 table, in order). */
export function decideUpsert(input: UpsertInput, { byExternalId, byEmail }: Candidates): Decision {
  if (input.externalId !== undefined) {
    if (byExternalId) {
      // Precedence: the email must not belong to a different customer.
      if (byEmail && byEmail.id !== byExternalId.id) return { kind: 'conflict', field: 'email' };
      return decideUpdate(byExternalId, input, UpsertOutcome.Updated);
    }
    if (byEmail) {
      if (byEmail.externalId !== null) return { kind: 'conflict', field: 'email' };
      return decideUpdate(byEmail, input, UpsertOutcome.Adopted, input.externalId);
    }
    return { kind: 'create', data: newCustomer(input) };
  }
  if (byEmail) return decideUpdate(byEmail, input, UpsertOutcome.Updated);
  return { kind: 'create', data: newCustomer(input) };
}

/**
 * Decides a partial update of `target`; `emailOwner` is the customer that currently holds the
 * input's email (trimmed, lower-cased), if any.
 */
export function decidePatch(target: Customer, input: PatchInput, emailOwner: Customer | null): Decision {
  if (input.email !== undefined && emailOwner && emailOwner.id !== target.id) return { kind: 'conflict', field: 'email' };
  return decideUpdate(target, input, UpsertOutcome.Updated);
}

function newCustomer(input: UpsertInput): NewCustomer {
  return {
    externalId: input.externalId ?? null,
    type: input.type ?? 'INDIVIDUAL',
    fullName: input.fullName,
    email: input.email,
    emailKey: normaliseEmail(input.email),
    phone: input.phone ?? null,
    riskIsNewCustomer: input.risk?.isNewCustomer ?? null,
    riskIsDesignatedService: input.risk?.isDesignatedService ?? null,
    riskHandlesCashOrCrypto: input.risk?.handlesCashOrCrypto ?? null,
    addedVia: CREATED_VIA,
  };
}

/** The column of each risk answer. */
const RISK_COLUMNS = {
  isNewCustomer: 'riskIsNewCustomer',
  isDesignatedService: 'riskIsDesignatedService',
  handlesCashOrCrypto: 'riskHandlesCashOrCrypto',
} as const satisfies Record<keyof RiskInput, keyof FieldChanges & keyof Customer>;
/** The risk answers (the literal above has exactly RiskInput's keys). */
const RISK_FIELDS = Object.keys(RISK_COLUMNS) as (keyof RiskInput)[];

/**
 * The changes an input makes to a record: only the fields sent, only where they differ.
 * `type` is never part of them (it cannot change) and neither is `addedVia`.
 */
function decideUpdate(
  target: Customer,
  input: PatchInput,
  outcome: typeof UpsertOutcome.Updated | typeof UpsertOutcome.Adopted,
  adoptExternalId?: string,
): Decision {
  const frozen = target.kycStatus === 'VERIFIED';
  const errors: FieldError[] = [];
  const changes: FieldChanges = {};
  if (adoptExternalId !== undefined) changes.externalId = adoptExternalId;
  if (input.fullName !== undefined && input.fullName !== target.fullName) {
    if (frozen) errors.push({ field: 'fullName', message: FROZEN_MESSAGE });
    else changes.fullName = input.fullName;
  }
  if (input.email !== undefined && input.email !== target.email) {
    const key = normaliseEmail(input.email);
    // The same address in another spelling is "the same value": accepted, and on a frozen
    // record the stored spelling is kept; otherwise the caller's spelling replaces it.
    if (key !== target.emailKey && frozen) errors.push({ field: 'email', message: FROZEN_MESSAGE });
    else if (!frozen) Object.assign(changes, { email: input.email, emailKey: key });
  }
  if (errors.length > 0) return { kind: 'frozen', fieldErrors: errors };
  if (input.phone !== undefined && input.phone !== target.phone) changes.phone = input.phone;
  for (const field of RISK_FIELDS) {
    const column = RISK_COLUMNS[field];
    const value = input.risk?.[field];
    if (value !== undefined && value !== target[column]) changes[column] = value;
  }
  return { kind: 'update', outcome, target, changes };
}

/** True when a decided update has nothing to write (a no-op keeps updatedAt and logs no event). */
export function isNoop(decision: Decision): boolean {
  return decision.kind === 'update' && Object.keys(decision.changes).length === 0;
}
