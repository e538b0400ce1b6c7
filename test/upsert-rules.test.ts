// The pure parts of customer writes: the match-rule decision table, input validation and its
// JSON Schema, and the canonical form idempotency compares. No database, no server.
import { describe, expect, it } from 'vitest';
import type { Customer } from '../src/customers/row.js';
import { INITIAL_STATUS, normaliseEmail } from '../src/customers/row.js';
import { decidePatch, decideUpsert, FROZEN_MESSAGE, isNoop, type Decision } from '../src/customers/rules.js';
import { customerInputJsonSchema, validatePatchInput, validateUpsertInput, type UpsertInput } from '../src/customers/validation.js';
import { canonicalJson, requestHash, validateIdempotencyKey } from '../src/idempotency/store.js';

let n = 0;
function customer(over: Partial<Customer> = {}): Customer {
  const email = over.email ?? `c${++n}@example.com`;
  return {
    id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    orgId: '00000000-0000-4000-8000-0000000000aa',
    externalId: null,
    type: 'INDIVIDUAL',
    fullName: 'Someone',
    email,
    emailKey: normaliseEmail(email),
    phone: null,
    riskIsNewCustomer: null,
    riskIsDesignatedService: null,
    riskHandlesCashOrCrypto: null,
    ...INITIAL_STATUS,
    addedVia: 'INTEGRATION',
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...over,
  };
}

const A = customer({ externalId: 'crm-a', email: 'a@example.com' });
const B = customer({ externalId: 'crm-b', email: 'b@example.com' });
const LOOSE = customer({ externalId: null, email: 'loose@example.com' });

const summary = (d: Decision) =>
  d.kind === 'update'
    ? { kind: d.kind, outcome: d.outcome, target: d.target.id }
    : d.kind === 'conflict'
      ? { kind: d.kind, field: d.field }
      : { kind: d.kind };

describe('decideUpsert: the match-rule table of SPEC section 4', () => {
  it.each([
    {
      row: 'externalId matches → UPDATED',
      input: { externalId: 'crm-a', email: 'a@example.com' },
      byExternalId: A,
      byEmail: A,
      want: { kind: 'update', outcome: 'UPDATED', target: A.id },
    },
    {
      row: 'externalId matches, new email free → UPDATED',
      input: { externalId: 'crm-a', email: 'new@example.com' },
      byExternalId: A,
      byEmail: null,
      want: { kind: 'update', outcome: 'UPDATED', target: A.id },
    },
    {
      row: 'no externalId match; email of a customer without externalId → ADOPTED',
      input: { externalId: 'crm-new', email: 'loose@example.com' },
      byExternalId: null,
      byEmail: LOOSE,
      want: { kind: 'update', outcome: 'ADOPTED', target: LOOSE.id },
    },
    {
      row: 'no externalId match; email of a customer with another externalId → conflict',
      input: { externalId: 'crm-new', email: 'b@example.com' },
      byExternalId: null,
      byEmail: B,
      want: { kind: 'conflict', field: 'email' },
    },
    {
      row: 'no externalId; email matches → UPDATED',
      input: { email: 'b@example.com' },
      byExternalId: null,
      byEmail: B,
      want: { kind: 'update', outcome: 'UPDATED', target: B.id },
    },
    {
      row: 'no externalId; nothing → create',
      input: { email: 'x@example.com' },
      byExternalId: null,
      byEmail: null,
      want: { kind: 'create' },
    },
    {
      row: 'externalId; nothing → create',
      input: { externalId: 'crm-x', email: 'x@example.com' },
      byExternalId: null,
      byEmail: null,
      want: { kind: 'create' },
    },
    {
      row: 'precedence: externalId matches A, email belongs to B → conflict',
      input: { externalId: 'crm-a', email: 'b@example.com' },
      byExternalId: A,
      byEmail: B,
      want: { kind: 'conflict', field: 'email' },
    },
    {
      row: 'precedence: externalId matches A, email belongs to a loose customer → conflict',
      input: { externalId: 'crm-a', email: 'loose@example.com' },
      byExternalId: A,
      byEmail: LOOSE,
      want: { kind: 'conflict', field: 'email' },
    },
  ])('$row', ({ input, byExternalId, byEmail, want }) => {
    const full: UpsertInput = { fullName: 'Someone', ...input };
    expect(summary(decideUpsert(full, { byExternalId, byEmail }))).toEqual(want);
  });

  it('creates as INTEGRATION, INDIVIDUAL by default, with the email key lower-cased and trimmed', () => {
    const d = decideUpsert({ fullName: 'N', email: 'Mixed@Case.COM', type: 'SOLE_TRADER' }, { byExternalId: null, byEmail: null });
    expect(d).toMatchObject({
      kind: 'create',
      data: { addedVia: 'INTEGRATION', type: 'SOLE_TRADER', email: 'Mixed@Case.COM', emailKey: 'mixed@case.com', externalId: null },
    });
    const plain = decideUpsert({ fullName: 'N', email: 'n@example.com' }, { byExternalId: null, byEmail: null });
    expect(plain).toMatchObject({ kind: 'create', data: { type: 'INDIVIDUAL' } });
  });

  it('never changes type or addedVia on update; adoption sets only the externalId besides the fields sent', () => {
    const sole = customer({ type: 'SOLE_TRADER', addedVia: 'BULK_IMPORT', email: 's@example.com' });
    const d = decideUpsert(
      { externalId: 'crm-s', fullName: 'Someone', email: 's@example.com', type: 'INDIVIDUAL' },
      { byExternalId: null, byEmail: sole },
    );
    expect(d).toMatchObject({ kind: 'update', outcome: 'ADOPTED', changes: { externalId: 'crm-s' } });
    expect(Object.keys((d as Extract<Decision, { kind: 'update' }>).changes)).toEqual(['externalId']);
  });

  it('frozen identity: a VERIFIED customer keeps name and email; same values (email in any case) pass', () => {
    const v = customer({ kycStatus: 'VERIFIED', fullName: 'Vera', email: 'Vera@Example.com', externalId: 'crm-v' });
    const cands = { byExternalId: v, byEmail: null };
    expect(decideUpsert({ externalId: 'crm-v', fullName: 'Other', email: 'Vera@Example.com' }, { ...cands, byEmail: v })).toEqual({
      kind: 'frozen',
      fieldErrors: [{ field: 'fullName', message: FROZEN_MESSAGE }],
    });
    expect(decideUpsert({ externalId: 'crm-v', fullName: 'Vera', email: 'other@example.com' }, cands)).toMatchObject({
      kind: 'frozen',
      fieldErrors: [{ field: 'email' }],
    });
    const same = decideUpsert({ externalId: 'crm-v', fullName: 'Vera', email: 'vera@example.COM', phone: '1' }, { ...cands, byEmail: v });
    expect(same).toMatchObject({ kind: 'update', changes: { phone: '1' } });
    expect((same as Extract<Decision, { kind: 'update' }>).changes.email).toBeUndefined();
    // Not verified: the caller's new spelling replaces the stored one.
    const loose = customer({ email: 'Ann@Example.com' });
    expect(decideUpsert({ fullName: 'Someone', email: 'ann@example.com' }, { byExternalId: null, byEmail: loose })).toMatchObject({
      kind: 'update',
      changes: { email: 'ann@example.com', emailKey: 'ann@example.com' },
    });
  });

  it('an input equal to the record is a no-op', () => {
    const c = customer({ fullName: 'Same', phone: '1', riskIsNewCustomer: true });
    expect(
      isNoop(
        decideUpsert({ fullName: 'Same', email: c.email!, phone: '1', risk: { isNewCustomer: true } }, { byExternalId: null, byEmail: c }),
      ),
    ).toBe(true);
    expect(
      isNoop(decideUpsert({ fullName: 'Same', email: c.email!, risk: { isNewCustomer: false } }, { byExternalId: null, byEmail: c })),
    ).toBe(false);
  });
});

describe('decidePatch', () => {
  it('updates only the fields sent; an email of another customer is a conflict', () => {
    const c = customer({ fullName: 'P', phone: '1' });
    expect(decidePatch(c, { phone: null }, null)).toMatchObject({ kind: 'update', outcome: 'UPDATED', changes: { phone: null } });
    expect(decidePatch(c, { email: B.email! }, B)).toEqual({ kind: 'conflict', field: 'email' });
    expect(decidePatch(c, { email: c.email!.toUpperCase() }, c)).toMatchObject({ kind: 'update' });
  });
});

describe('validation', () => {
  it('accepts and normalises a full upsert body', () => {
    expect(
      validateUpsertInput({
        externalId: 'crm-1',
        type: 'SOLE_TRADER',
        fullName: '  Ann  ',
        email: ' Ann@Example.com ',
        phone: null,
        risk: { isNewCustomer: true },
      }),
    ).toEqual({
      ok: true,
      value: {
        externalId: 'crm-1',
        type: 'SOLE_TRADER',
        fullName: 'Ann',
        email: 'Ann@Example.com',
        phone: null,
        risk: { isNewCustomer: true },
      },
    });
    // null externalId / type / risk mean "not given".
    expect(validateUpsertInput({ externalId: null, type: null, risk: null, fullName: 'A', email: 'a@example.com' })).toEqual({
      ok: true,
      value: { fullName: 'A', email: 'a@example.com' },
    });
  });

  it('reports every bad field at once, unknown and nested risk keys included', () => {
    const r = validateUpsertInput({
      externalId: '',
      type: 'COMPANY',
      email: 'x'.repeat(250) + '@a.com',
      phone: 5,
      risk: { isNewCustomer: 'yes', pep: true },
      kycStatus: 'VERIFIED',
      colour: 'blue',
    });
    expect(r.ok).toBe(false);
    const fields = !r.ok ? r.fieldErrors.map((e) => e.field).sort() : [];
    expect(fields).toEqual(
      ['colour', 'email', 'externalId', 'fullName', 'kycStatus', 'phone', 'risk.isNewCustomer', 'risk.pep', 'type'].sort(),
    );
    expect(!r.ok && r.fieldErrors.find((e) => e.field === 'kycStatus')?.message).toBe('is read-only');
    expect(validateUpsertInput('nope')).toEqual({ ok: false, fieldErrors: [{ field: 'input', message: 'must be an object' }] });
  });

  it('enforces the length limits exactly', () => {
    const ok = validateUpsertInput({
      externalId: 'e'.repeat(255),
      fullName: 'n'.repeat(255),
      email: `${'m'.repeat(243)}@example.com`,
      phone: '1'.repeat(32),
    });
    expect(ok.ok).toBe(true);
    const bad = validateUpsertInput({
      externalId: 'e'.repeat(256),
      fullName: 'n'.repeat(256),
      email: `${'m'.repeat(244)}@example.com`,
      phone: '1'.repeat(33),
    });
    expect(!bad.ok && bad.fieldErrors.map((e) => e.field)).toEqual(['externalId', 'fullName', 'email', 'phone']);
  });

  it('PATCH rejects type, externalId and status fields, one error each; nothing is required', () => {
    expect(validatePatchInput({})).toEqual({ ok: true, value: {} });
    const r = validatePatchInput({ type: 'INDIVIDUAL', externalId: 'x', kycStatus: 'VERIFIED', aml: {}, fullName: 'Ok' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.fieldErrors.map((e) => e.field).sort()).toEqual(['aml', 'externalId', 'kycStatus', 'type']);
    expect(validatePatchInput({ fullName: null }).ok).toBe(false);
  });

  it('the JSON Schema is generated from the same spec', () => {
    const upsert = customerInputJsonSchema('upsert') as any;
    expect(upsert).toMatchObject({ type: 'object', additionalProperties: false, required: ['fullName', 'email'] });
    expect(Object.keys(upsert.properties)).toEqual(['externalId', 'type', 'fullName', 'email', 'phone', 'risk']);
    expect(upsert.properties.email).toMatchObject({ type: 'string', maxLength: 255, format: 'email' });
    expect(upsert.properties.risk).toMatchObject({ type: ['object', 'null'], additionalProperties: false });
    expect(Object.keys(upsert.properties.risk.properties)).toEqual(['isNewCustomer', 'isDesignatedService', 'handlesCashOrCrypto']);
    const patch = customerInputJsonSchema('patch') as any;
    expect(patch.required).toBeUndefined();
    expect(Object.keys(patch.properties)).toEqual(['fullName', 'email', 'phone', 'risk']);
  });
});

describe('idempotency request comparison', () => {
  it('canonical JSON ignores key order at every level, not values', () => {
    const a = { fullName: 'A', email: 'a@example.com', risk: { isNewCustomer: true, handlesCashOrCrypto: false } };
    const b = { risk: { handlesCashOrCrypto: false, isNewCustomer: true }, email: 'a@example.com', fullName: 'A' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(requestHash({ ...a, fullName: 'B' })).not.toBe(requestHash(a));
    expect(requestHash({ ...a, phone: null })).not.toBe(requestHash(a)); // null clears: a different request
  });

  it('keys are 1–255 characters', () => {
    expect(validateIdempotencyKey('k'.repeat(255))).toBeNull();
    expect(validateIdempotencyKey('k'.repeat(256))).toMatchObject({ field: 'idempotencyKey' });
    expect(validateIdempotencyKey('')).toMatchObject({ field: 'idempotencyKey' });
  });
});
