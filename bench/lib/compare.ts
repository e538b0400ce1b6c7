// Scenario 5 compares the gateway's dashboard page with PostGraphile's before measuring either:
// both answers are mapped to one shape (the gateway's field names, timestamps as ISO instants)
// and must be identical field by field, or the run fails. A peer that answered less, or other
// rows, would make the ratio meaningless.
import { isDeepStrictEqual } from 'node:util';
import { HISTORY_FIRST } from './requests.js';

export interface Change {
  from: string;
  to: string;
}

export interface EventShape {
  kind: string;
  occurredAt: string;
  kyc: Change | null;
  aml: Change | null;
}

export interface CustomerShape {
  id: string;
  externalId: string | null;
  type: string;
  fullName: string;
  email: string | null;
  kycStatus: string;
  kycStartedAt: string | null;
  kycCompletedAt: string | null;
  addedVia: string;
  createdAt: string;
  updatedAt: string;
  identity: { verifiedLegalName: string; verifiedCountry: string } | null;
  aml: {
    status: string;
    screenedAt: string | null;
    lastReviewedAt: string | null;
    flags: { pep: boolean; sanctions: boolean; adverseMedia: boolean; terrorism: boolean };
  };
  /** The newest events, newest first (dashboard shape only). */
  history?: EventShape[];
}

export interface PageShape {
  hasNextPage: boolean;
  /** Every edge has a cursor and the page has an end cursor (cursors are opaque, so only their presence is compared). */
  cursors: boolean;
  customers: CustomerShape[];
}

interface Edge<T> {
  cursor?: string | null;
  node: T;
}
interface Connection<T> {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Edge<T>[];
}

/** The gateway's answer to dashboardQuery (bench/lib/requests.ts). */
export interface GatewayAnswer {
  data?: {
    customers: Connection<
      Omit<CustomerShape, 'history'> & {
        statusHistory?: { edges: Edge<{ kind: string; occurredAt: string; kyc: Change | null; aml: Change | null }>[] };
      }
    >;
  };
  errors?: unknown;
}

/** PostGraphile's answer to peerDashboardQuery (bench/lib/requests.ts). */
export interface PeerAnswer {
  data?: {
    allCustomers: Connection<{
      rowId: string;
      externalId: string | null;
      type: string;
      fullName: string;
      email: string | null;
      kycStatus: string;
      kycStartedAt: string | null;
      kycCompletedAt: string | null;
      addedVia: string;
      createdAt: string;
      updatedAt: string;
      verifiedLegalName: string | null;
      verifiedCountry: string | null;
      amlStatus: string;
      amlScreenedAt: string | null;
      amlLastReviewedAt: string | null;
      amlPep: boolean;
      amlSanctions: boolean;
      amlAdverseMedia: boolean;
      amlTerrorism: boolean;
      customerEventsByOrgIdAndCustomerId?: {
        edges: Edge<{
          kind: string;
          occurredAt: string;
          kycFrom: string | null;
          kycTo: string | null;
          amlFrom: string | null;
          amlTo: string | null;
        }>[];
      };
    }>;
  };
  errors?: unknown;
}

/** An instant as ISO-8601 UTC with milliseconds ("…Z"), whatever offset notation the server used. */
function instant(value: string | null): string | null {
  if (value === null) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`not a timestamp: ${JSON.stringify(value)}`);
  return date.toISOString();
}
const required = (value: string | null): string => instant(value) ?? 'null';

const change = (from: string | null, to: string | null): Change | null => (from !== null && to !== null ? { from, to } : null);

function cursorsOf<T>(c: Connection<T>): boolean {
  const present = (s: string | null | undefined) => typeof s === 'string' && s.length > 0;
  return c.edges.every((e) => present(e.cursor)) && (c.edges.length === 0 || present(c.pageInfo.endCursor));
}

/** The gateway's page in the common shape. */
export function fromGateway(answer: GatewayAnswer): PageShape {
  if (!answer.data || answer.errors) throw new Error(`gateway answered errors: ${JSON.stringify(answer).slice(0, 500)}`);
  const page = answer.data.customers;
  return {
    hasNextPage: page.pageInfo.hasNextPage,
    cursors: cursorsOf(page),
    customers: page.edges.map(({ node: { statusHistory, ...c } }) => ({
      ...c,
      kycStartedAt: instant(c.kycStartedAt),
      kycCompletedAt: instant(c.kycCompletedAt),
      createdAt: required(c.createdAt),
      updatedAt: required(c.updatedAt),
      aml: { ...c.aml, screenedAt: instant(c.aml.screenedAt), lastReviewedAt: instant(c.aml.lastReviewedAt) },
      ...(statusHistory
        ? {
            history: statusHistory.edges.map(({ node: e }) => ({
              kind: e.kind,
              occurredAt: required(e.occurredAt),
              kyc: e.kyc,
              aml: e.aml,
            })),
          }
        : {}),
    })),
  };
}

/**
 * PostGraphile's page in the common shape. The identity block follows the spec's rule (present
 * only while KYC is VERIFIED), as a dashboard reading the raw columns would apply it.
 */
export function fromPeer(answer: PeerAnswer): PageShape {
  if (!answer.data || answer.errors) throw new Error(`PostGraphile answered errors: ${JSON.stringify(answer).slice(0, 500)}`);
  const page = answer.data.allCustomers;
  return {
    hasNextPage: page.pageInfo.hasNextPage,
    cursors: cursorsOf(page),
    customers: page.edges.map(({ node: c }) => ({
      id: c.rowId,
      externalId: c.externalId,
      type: c.type,
      fullName: c.fullName,
      email: c.email,
      kycStatus: c.kycStatus,
      kycStartedAt: instant(c.kycStartedAt),
      kycCompletedAt: instant(c.kycCompletedAt),
      addedVia: c.addedVia,
      createdAt: required(c.createdAt),
      updatedAt: required(c.updatedAt),
      identity:
        c.kycStatus === 'VERIFIED' && c.verifiedLegalName !== null && c.verifiedCountry !== null
          ? { verifiedLegalName: c.verifiedLegalName, verifiedCountry: c.verifiedCountry }
          : null,
      aml: {
        status: c.amlStatus,
        screenedAt: instant(c.amlScreenedAt),
        lastReviewedAt: instant(c.amlLastReviewedAt),
        flags: { pep: c.amlPep, sanctions: c.amlSanctions, adverseMedia: c.amlAdverseMedia, terrorism: c.amlTerrorism },
      },
      ...(c.customerEventsByOrgIdAndCustomerId
        ? {
            history: c.customerEventsByOrgIdAndCustomerId.edges.map(({ node: e }) => ({
              kind: e.kind,
              occurredAt: required(e.occurredAt),
              kyc: change(e.kycFrom, e.kycTo),
              aml: change(e.amlFrom, e.amlTo),
            })),
          }
        : {}),
    })),
  };
}

/** The path and both values of the first difference between two JSON values, or null when equal. */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b)) {
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
      const found = firstDifference(left[key], right[key], Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`);
      if (found) return found;
    }
  }
  return `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** The path of the first undefined value (a field the answer did not have), or null. */
function undefinedPath(value: unknown, path = '$'): string | null {
  if (value === undefined) return path;
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, v] of Object.entries(value)) {
    // `history` is absent on purpose from the list shape.
    if (key === 'history' && v === undefined) continue;
    const found = undefinedPath(v, `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

/**
 * Fails unless both pages are identical and the comparison is not vacuous: `size` customers
 * with every field present, a next page, and (with history) three events each, some verified
 * identities and some KYC moves among them.
 */
export function assertSamePage(gateway: PageShape, peer: PageShape, expect: { size: number; history: boolean }): void {
  const difference = firstDifference(gateway, peer);
  if (difference) throw new Error(`the gateway and PostGraphile answers differ at ${difference}`);
  const problems: string[] = [];
  if (gateway.customers.length !== expect.size) problems.push(`${gateway.customers.length} customers, not ${expect.size}`);
  if (!gateway.hasNextPage) problems.push('no next page');
  if (!gateway.cursors) problems.push('missing cursors');
  const missing = undefinedPath(gateway);
  if (missing) problems.push(`${missing} is undefined (not in the answer)`);
  if (expect.history) {
    if (!gateway.customers.every((c) => c.history?.length === HISTORY_FIRST)) problems.push(`not ${HISTORY_FIRST} events per customer`);
    if (!gateway.customers.some((c) => c.identity !== null)) problems.push('no verified identity on the page');
    if (!gateway.customers.some((c) => c.history?.some((e) => e.kyc !== null))) problems.push('no KYC move on the page');
  } else if (gateway.customers.some((c) => c.history !== undefined)) problems.push('events on the list page');
  if (problems.length) throw new Error(`the compared page is not the expected one: ${problems.join('; ')}`);
}
