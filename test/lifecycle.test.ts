// The KYC / AML state machine (every (from, to) pair of both machines) and the back-office
// mutations over HTTP: scope, identity, AML precondition, and one event per move in the
// same transaction.
import { beforeAll, describe, expect, it } from 'vitest';
import { Scope } from '../src/auth/scopes.js';
import { AML_TRANSITIONS, KYC_TRANSITIONS, planAmlTransition, planKycTransition } from '../src/customers/lifecycle.js';
import { AmlStatus, KycStatus } from '../src/generated/prisma/enums.js';
import { moveAml, seedCustomer, verify } from './helpers/customers.js';
import { dbKind } from './helpers/db.js';
import { useGateway } from './helpers/fixture.js';

const now = new Date('2026-01-31T12:00:00.000Z');
const identity = { legalName: 'Ada Lovelace', country: 'GBR' };
const ALLOWED_KYC = new Set([
  'NOT_STARTED>PENDING',
  'NOT_STARTED>NOT_REQUIRED',
  'PENDING>IN_PROGRESS',
  'IN_PROGRESS>VERIFIED',
  'IN_PROGRESS>FAILED',
  'IN_PROGRESS>AWAITING_RESUBMISSION',
  'AWAITING_RESUBMISSION>IN_PROGRESS',
  'FAILED>PENDING',
]);
const ALLOWED_AML = new Set([
  'NOT_SCREENED>IN_PROGRESS',
  'IN_PROGRESS>CLEAR',
  'IN_PROGRESS>NEEDS_REVIEW',
  'NEEDS_REVIEW>RESOLVED',
  'CLEAR>IN_PROGRESS',
  'RESOLVED>IN_PROGRESS',
]);

describe('KYC state machine (pure)', () => {
  const kycs = Object.values(KycStatus);
  it.each(kycs.flatMap((from) => kycs.map((to) => [from, to] as const)))('%s → %s', (from, to) => {
    const plan = planKycTransition({ kycStatus: from, kycStartedAt: null }, to, to === 'VERIFIED' ? identity : null, now);
    expect(plan.ok).toBe(ALLOWED_KYC.has(`${from}>${to}`));
    if (!plan.ok) expect(plan.rejection).toMatchObject({ kind: 'invalid_transition', from, to });
    expect(KYC_TRANSITIONS[from].includes(to)).toBe(plan.ok);
  });

  it('sets kycStartedAt on leaving NOT_STARTED, kycCompletedAt on VERIFIED/FAILED, clears it on a new attempt', () => {
    expect(planKycTransition({ kycStatus: 'NOT_STARTED', kycStartedAt: null }, 'PENDING', null, now)).toEqual({
      ok: true,
      changes: { kycStatus: 'PENDING', kycStartedAt: now },
    });
    expect(planKycTransition({ kycStatus: 'IN_PROGRESS', kycStartedAt: now }, 'FAILED', null, now)).toEqual({
      ok: true,
      changes: { kycStatus: 'FAILED', kycCompletedAt: now },
    });
    expect(planKycTransition({ kycStatus: 'FAILED', kycStartedAt: now }, 'PENDING', null, now)).toEqual({
      ok: true,
      changes: { kycStatus: 'PENDING', kycCompletedAt: null },
    });
  });

  it('VERIFIED requires a valid identity (legal name 1–255, a real alpha-3 country)', () => {
    const from = { kycStatus: 'IN_PROGRESS' as const, kycStartedAt: now };
    expect(planKycTransition(from, 'VERIFIED', null, now)).toMatchObject({
      ok: false,
      rejection: { kind: 'invalid', fieldErrors: [{ field: 'identity' }] },
    });
    const bad = planKycTransition(from, 'VERIFIED', { legalName: ' ', country: 'XYZ' }, now);
    expect(bad).toMatchObject({ ok: false, rejection: { kind: 'invalid' } });
    expect(!bad.ok && bad.rejection.kind === 'invalid' && bad.rejection.fieldErrors.map((f) => f.field)).toEqual([
      'identity.legalName',
      'identity.country',
    ]);
    expect(planKycTransition(from, 'VERIFIED', { legalName: 'x'.repeat(256), country: 'GBR' }, now).ok).toBe(false);
    expect(planKycTransition(from, 'VERIFIED', { legalName: 'Ada', country: 'GB' }, now).ok).toBe(false);
    expect(planKycTransition(from, 'VERIFIED', { legalName: ' Ada ', country: 'gbr' }, now)).toEqual({
      ok: true,
      changes: { kycStatus: 'VERIFIED', kycCompletedAt: now, verifiedLegalName: 'Ada', verifiedCountry: 'GBR' },
    });
    expect(planKycTransition({ kycStatus: 'PENDING', kycStartedAt: now }, 'IN_PROGRESS', identity, now)).toMatchObject({
      ok: false,
      rejection: { kind: 'invalid' },
    });
  });
});

describe('AML state machine (pure)', () => {
  const amls = Object.values(AmlStatus);
  const flagsFor = (to: AmlStatus) => (to === 'NEEDS_REVIEW' ? { pep: true } : null);
  it.each(amls.flatMap((from) => amls.map((to) => [from, to] as const)))('%s → %s once KYC is VERIFIED', (from, to) => {
    const plan = planAmlTransition({ kycStatus: 'VERIFIED', amlStatus: from }, to, flagsFor(to), now);
    expect(plan.ok).toBe(ALLOWED_AML.has(`${from}>${to}`));
    if (!plan.ok) expect(plan.rejection).toMatchObject({ kind: 'invalid_transition', from, to });
    expect(AML_TRANSITIONS[from].includes(to)).toBe(plan.ok);
  });

  it.each(Object.values(KycStatus).filter((k) => k !== 'VERIFIED'))('every AML move is rejected while KYC is %s', (kyc) => {
    for (const from of amls)
      for (const to of amls) {
        expect(planAmlTransition({ kycStatus: kyc, amlStatus: from }, to, flagsFor(to), now)).toMatchObject({
          ok: false,
          rejection: { kind: 'invalid_transition' },
        });
      }
  });

  it('screenedAt on a result, lastReviewedAt on RESOLVED; flags only with a result and consistent with it', () => {
    const v = 'VERIFIED' as const;
    expect(planAmlTransition({ kycStatus: v, amlStatus: 'IN_PROGRESS' }, 'NEEDS_REVIEW', { sanctions: true }, now)).toEqual({
      ok: true,
      changes: {
        amlStatus: 'NEEDS_REVIEW',
        amlScreenedAt: now,
        amlPep: false,
        amlSanctions: true,
        amlAdverseMedia: false,
        amlTerrorism: false,
      },
    });
    expect(planAmlTransition({ kycStatus: v, amlStatus: 'NEEDS_REVIEW' }, 'RESOLVED', null, now)).toEqual({
      ok: true,
      changes: { amlStatus: 'RESOLVED', amlLastReviewedAt: now },
    });
    expect(planAmlTransition({ kycStatus: v, amlStatus: 'CLEAR' }, 'IN_PROGRESS', null, now)).toEqual({
      ok: true,
      changes: { amlStatus: 'IN_PROGRESS' },
    });
    expect(planAmlTransition({ kycStatus: v, amlStatus: 'IN_PROGRESS' }, 'CLEAR', { pep: true }, now).ok).toBe(false);
    expect(planAmlTransition({ kycStatus: v, amlStatus: 'IN_PROGRESS' }, 'NEEDS_REVIEW', {}, now).ok).toBe(false);
    expect(planAmlTransition({ kycStatus: v, amlStatus: 'NOT_SCREENED' }, 'IN_PROGRESS', { pep: false }, now).ok).toBe(false);
  });
});

describe(`lifecycle mutations (${dbKind})`, () => {
  const ctx = useGateway({ poolSize: 4 });
  let orgId: string;
  let key: string;
  beforeAll(async () => {
    ({ key, orgId } = await ctx.org());
  });

  const KYC = /* GraphQL */ `
    mutation K($id: ID!, $to: KycStatus!, $identity: VerifiedIdentityInput) {
      transitionKyc(id: $id, to: $to, identity: $identity) {
        __typename
        ... on TransitionKycSuccess {
          customer {
            id
            kycStatus
            kycStartedAt
            kycCompletedAt
            identity {
              verifiedLegalName
              verifiedCountry
            }
            updatedAt
          }
        }
        ... on Error {
          code
          message
        }
        ... on InvalidTransitionError {
          from
          to
        }
        ... on ValidationError {
          fieldErrors {
            field
            message
          }
        }
      }
    }
  `;
  const AML = /* GraphQL */ `
    mutation A($id: ID!, $status: AmlStatus!, $flags: AmlFlagsInput) {
      recordAmlScreening(id: $id, status: $status, flags: $flags) {
        __typename
        ... on RecordAmlScreeningSuccess {
          customer {
            aml {
              status
              screenedAt
              lastReviewedAt
              flags {
                pep
                sanctions
                adverseMedia
                terrorism
              }
            }
          }
        }
        ... on Error {
          code
          message
        }
      }
    }
  `;

  it('walks KYC to VERIFIED by external id, one KYC event per move with from/to and the snapshot', async () => {
    const c = await seedCustomer(ctx.db, orgId, { externalId: 'crm-walk' });
    for (const to of ['PENDING', 'IN_PROGRESS']) {
      const r = await ctx.gw.gql(key, KYC, { id: c.externalId, to });
      expect(r.body.data.transitionKyc).toMatchObject({ __typename: 'TransitionKycSuccess', customer: { kycStatus: to } });
    }
    const missing = await ctx.gw.gql(key, KYC, { id: c.id, to: 'VERIFIED' });
    expect(missing.body.data.transitionKyc).toMatchObject({
      __typename: 'ValidationError',
      code: 'validation_failed',
      fieldErrors: [{ field: 'identity' }],
    });
    const ok = await ctx.gw.gql(key, KYC, { id: c.id, to: 'VERIFIED', identity: { legalName: 'Ada Lovelace', country: 'gbr' } });
    const customer = ok.body.data.transitionKyc.customer;
    expect(customer).toMatchObject({ kycStatus: 'VERIFIED', identity: { verifiedLegalName: 'Ada Lovelace', verifiedCountry: 'GBR' } });
    expect(customer.kycStartedAt).toMatch(/Z$/);
    expect(customer.kycCompletedAt).toMatch(/Z$/);
    const events = await ctx.db.prisma.customerEvent.findMany({ where: { customerId: c.id }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.kind, e.kycFrom, e.kycTo])).toEqual([
      ['KYC', 'NOT_STARTED', 'PENDING'],
      ['KYC', 'PENDING', 'IN_PROGRESS'],
      ['KYC', 'IN_PROGRESS', 'VERIFIED'],
    ]);
    expect(events[2]!.snapshot).toMatchObject({
      id: c.id,
      kycStatus: 'VERIFIED',
      identity: { verifiedCountry: 'GBR' },
      updatedAt: customer.updatedAt,
    });
    expect(JSON.stringify(events[2]!.snapshot)).not.toMatch(/orgId|phone|risk/);
  });

  it('an invalid move is InvalidTransitionError and changes nothing (no write, no event)', async () => {
    const c = await seedCustomer(ctx.db, orgId);
    const r = await ctx.gw.gql(key, KYC, { id: c.id, to: 'VERIFIED', identity: { legalName: 'A', country: 'GBR' } });
    expect(r.body.data.transitionKyc).toMatchObject({
      __typename: 'InvalidTransitionError',
      code: 'invalid_transition',
      from: 'NOT_STARTED',
      to: 'VERIFIED',
    });
    const aml = await ctx.gw.gql(key, AML, { id: c.id, status: 'IN_PROGRESS' });
    expect(aml.body.data.recordAmlScreening).toMatchObject({ __typename: 'InvalidTransitionError', code: 'invalid_transition' });
    expect(await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).toEqual(c);
    expect(await ctx.db.prisma.customerEvent.count({ where: { customerId: c.id } })).toBe(0);
  });

  it('records AML screening once VERIFIED: flags, screenedAt, lastReviewedAt', async () => {
    const c = await seedCustomer(ctx.db, orgId);
    await verify(ctx.db, orgId, c.id);
    await moveAml(ctx.db, orgId, c.id, 'IN_PROGRESS');
    const review = await ctx.gw.gql(key, AML, { id: c.id, status: 'NEEDS_REVIEW', flags: { pep: true, terrorism: false } });
    const aml = review.body.data.recordAmlScreening.customer.aml;
    expect(aml).toMatchObject({
      status: 'NEEDS_REVIEW',
      lastReviewedAt: null,
      flags: { pep: true, sanctions: false, adverseMedia: false, terrorism: false },
    });
    expect(aml.screenedAt).toMatch(/Z$/);
    const resolved = await ctx.gw.gql(key, AML, { id: c.id, status: 'RESOLVED' });
    expect(resolved.body.data.recordAmlScreening.customer.aml).toMatchObject({
      status: 'RESOLVED',
      screenedAt: aml.screenedAt,
      flags: { pep: true },
    });
    expect(resolved.body.data.recordAmlScreening.customer.aml.lastReviewedAt).toMatch(/Z$/);
    const events = await ctx.db.prisma.customerEvent.findMany({ where: { customerId: c.id, kind: 'AML' }, orderBy: { id: 'asc' } });
    expect(events.map((e) => `${e.amlFrom}>${e.amlTo}`)).toEqual([
      'NOT_SCREENED>IN_PROGRESS',
      'IN_PROGRESS>NEEDS_REVIEW',
      'NEEDS_REVIEW>RESOLVED',
    ]);
  });

  it('unknown or other-organisation customer → CustomerNotFoundError', async () => {
    const other = await ctx.org(undefined, { prefix: 'other' });
    const theirs = await seedCustomer(ctx.db, other.orgId, { externalId: 'crm-theirs' });
    for (const id of [theirs.id, theirs.externalId, 'no-such-customer']) {
      const r = await ctx.gw.gql(key, KYC, { id, to: 'PENDING' });
      expect(r.body.data.transitionKyc).toMatchObject({ __typename: 'CustomerNotFoundError', code: 'not_found' });
    }
    expect((await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: theirs.id } })).kycStatus).toBe('NOT_STARTED');
  });

  it('needs compliance:write', async () => {
    const reader = await ctx.org([Scope.CustomersRead, Scope.CustomersWrite]);
    const c = await seedCustomer(ctx.db, reader.orgId);
    const r = await ctx.gw.gql(reader.key, KYC, { id: c.id, to: 'PENDING' });
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await ctx.db.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).kycStatus).toBe('NOT_STARTED');
  });
});
