// Generators of odd requests for the fuzz test (SPEC section 9): REST bodies, headers, paths and
// query parameters, GraphQL documents and variables. Each generator mixes values that are valid
// (so that requests get past the first check and reach the deeper ones) with the classes of
// bad input issue 9 found: NUL, lone surrogates, keys named like Object.prototype members,
// huge numbers, very long strings, wrong types, forged cursors, dates PostgreSQL cannot store.
// Among them, documents that attack the GraphQL limits (deep, aliased, directive- or
// variable-heavy, huge) and bodies and paths past the HTTP limits: each limit has its own test
// (graphql-limits, http-hardening); here they only have to be answered in the envelope.
import fc from 'fast-check';
import { encodeCursor } from '../../src/lib/cursor.js';

/** What the generators know about the gateway under test (keys, seeded records, real cursors). */
export interface FuzzWorld {
  /** customers:read, customers:write, aml:read in organisation A (whose customers are never VERIFIED). */
  writerKey: string;
  /** customers:read only, organisation A. */
  readerKey: string;
  /** customers:read and compliance:write in organisation B (no customers:write, so no frozen-identity write exists). */
  backOfficeKey: string;
  /** customers:read and customers:write in organisation C (tenancy: A's records are absent to it). */
  otherOrgKey: string;
  /** Ids and external ids of seeded customers (both organisations). */
  ids: string[];
  /** Real cursors: a REST next_cursor, a GraphQL endCursor, a history cursor. */
  cursors: string[];
}

export interface FuzzRequest {
  surface: 'rest' | 'graphql';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** An idempotency key was sent (REST header or GraphQL argument): some outcomes are then stored under it. */
  idempotencyKey: boolean;
  /** GraphQL: the mutation's root field, whose payload says whether it succeeded. */
  mutation?: string;
}

// ---------------------------------------------------------------- strings and JSON values

const UUID = '0b0e7a52-3c8e-4a57-9d2c-5d3c4b9b2f10';
const DANGEROUS_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__'];
const ODD_CHARS = [
  '\u0000',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\uffff',
  '\ufffd',
  '😀',
  '𝔄',
  'é',
  '%',
  '\\',
  '"',
  "'",
  '/',
  '?',
  '#',
  '&',
  '=',
  ',',
  ' ',
  '\n',
];

const char = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'abcdefXYZ0189-_.@+') },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_CHARS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** Text of every kind: short and odd, around the 255 boundary, very long, and the known trouble-makers. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: char, maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: char, minLength: 250, maxLength: 310 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 8_000 }).map((n) => 'x'.repeat(n)) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'a\u0000b',
      '\u0000',
      '\ud800',
      'x\udc00y',
      '%00',
      '%ZZ',
      'null',
      'NaN',
      UUID,
      UUID.toUpperCase(),
      '0000-01-01',
      '9999-12-31T23:59:59.999Z',
      ...DANGEROUS_KEYS,
    ),
  },
);

/** JSON text of a value of any type, including numbers JSON.parse turns into Infinity or rounds. */
const jsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: oddString.map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map((d) => JSON.stringify(d)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '-0', '9007199254740993', 'true', 'false', 'null'),
  },
  { weight: 2, arbitrary: fc.json({ maxDepth: 2 }) },
);

/** A JSON object's text from its entries, as written (keys such as "__proto__" stay plain keys). */
const objectText = (entries: [string, string][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/** A value for a JavaScript variable: mostly JSON-like of any type, odd strings included. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: oddString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 40, -1, 0, 1.5, true, null, [], {}) },
);

// ---------------------------------------------------------------- customer inputs

const EMAILS = ['ada@example.com', 'bob@example.com', 'ADA@example.com ', 'carol@example.com', 'dan@example.org'];
const EXTERNAL_IDS = ['crm-1', 'crm-2', 'crm-new', 'crm-3'];
const RISK_FIELDS = ['isNewCustomer', 'isDesignatedService', 'handlesCashOrCrypto'];

const validField: Record<string, fc.Arbitrary<unknown>> = {
  fullName: fc.constantFrom('Ada Lovelace', 'Bob', '  Carol  '),
  email: fc.constantFrom(...EMAILS),
  externalId: fc.constantFrom(...EXTERNAL_IDS),
  phone: fc.constantFrom('+441234567', null),
  type: fc.constantFrom('INDIVIDUAL', 'SOLE_TRADER', null),
};

const riskText = fc
  .array(
    fc.tuple(fc.oneof(fc.constantFrom(...RISK_FIELDS, ...DANGEROUS_KEYS), oddString), fc.oneof(fc.constantFrom('true', 'null'), jsonText)),
    {
      maxLength: 4,
    },
  )
  .map(objectText);

/** A valid write input: name and email from small pools (so creates, updates, adoptions and conflicts all happen). */
const validInput = fc
  .tuple(
    fc.record({ fullName: validField.fullName!, email: validField.email! }),
    fc.record({ externalId: validField.externalId!, phone: validField.phone!, type: validField.type! }, { requiredKeys: [] }),
  )
  .map(([base, more]) => ({ ...base, ...more }));

/** One odd entry of a body (as JSON text): a known field with a value of any kind, risk, a dangerous or unknown key. */
const oddEntry: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constantFrom('fullName', 'email', 'externalId', 'phone', 'type'), jsonText),
  fc.tuple(fc.constant('risk'), riskText),
  fc.tuple(fc.constantFrom(...DANGEROUS_KEYS, 'id', 'kycStatus', 'aml'), jsonText),
  fc.tuple(oddString, jsonText),
);

const entriesOf = (input: Record<string, unknown>): [string, string][] => Object.entries(input).map(([k, v]) => [k, JSON.stringify(v)]);

/** A write body's text: valid, valid but for one entry, several odd entries, or no object at all. */
export const bodyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: validInput.map((v) => JSON.stringify(v)) },
  { weight: 4, arbitrary: fc.tuple(validInput, oddEntry).map(([v, odd]) => objectText([...entriesOf(v), odd])) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.record({ fullName: validField.fullName!, email: validField.email! }, { requiredKeys: [] }),
        fc.array(oddEntry, { maxLength: 4 }),
      )
      .map(([base, extra]) => objectText([...entriesOf(base), ...extra])),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '[]', 'null', '"x"', '{', '{"fullName":', '{"a":1}{', '\u0000', '{"fullName":"\\ud800"}') },
);

/** The same inputs as GraphQL variables (objects), so that coercion and validation both get exercised. */
const inputValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: validInput },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        validInput,
        fc.dictionary(fc.constantFrom('fullName', 'email', 'externalId', 'phone'), oddString, { minKeys: 1, maxKeys: 2 }),
        fc.option(fc.dictionary(fc.constantFrom(...RISK_FIELDS), fc.oneof(fc.boolean(), anyValue), { maxKeys: 3 }), { nil: undefined }),
      )
      .map(([base, odd, risk]) => ({ ...base, ...odd, ...(risk === undefined ? {} : { risk }) })),
  },
  { weight: 1, arbitrary: fc.record(validField, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...DANGEROUS_KEYS), oddString), anyValue, { maxKeys: 3 }) },
  { weight: 1, arbitrary: anyValue },
);

// ---------------------------------------------------------------- ids, cursors, dates

/** Percent-encodes the UTF-8 bytes of a string (a lone surrogate becomes U+FFFD's bytes, as any client would send). */
function encodeBytes(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8'))
    out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

const rawPathSegment = fc.constantFrom(
  '%00',
  'a%00b',
  '%ZZ',
  '%',
  '%C0%80',
  '%ED%A0%80',
  '%FF',
  'a%2Fb',
  '%2e%2e',
  '..',
  '.',
  '%20',
  '%E2%80%A8',
);

const idValue = (world: FuzzWorld) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...world.ids) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 4, arbitrary: oddString },
  );

/** A path segment naming a customer: a real one, a random UUID, odd text encoded, or raw percent trouble. */
const idSegment = (world: FuzzWorld) =>
  fc.oneof({ weight: 6, arbitrary: idValue(world).map(encodeBytes) }, { weight: 2, arbitrary: rawPathSegment });

const digits = (n: number) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, '0'));

/** Timestamps of every kind: valid, at and past the bounds, impossible calendar fields, odd zones, not dates. */
export const oddDate: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        digits(4),
        digits(2),
        digits(2),
        fc.option(fc.tuple(digits(2), digits(2), digits(2)), { nil: undefined }),
        fc.constantFrom('', 'Z', '+01:00', '-23:59', '+2400', '+99:99'),
      )
      .map(([y, m, d, t, z]) => `${y}-${m}-${d}${t ? `T${t.join(':')}${z}` : ''}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '0000-01-01',
      '0001-01-01',
      '0001-01-01T00:00:00+01:00',
      '9999-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999-00:01',
      '+275760-09-13T00:00:00.000Z',
      '-000001-01-01T00:00:00.000Z',
      '2026-02-30',
      '2026-01-01T24:00:00Z',
      'yesterday',
      '',
      '2026-01-01T00:00:00.1234567891Z',
    ),
  },
  { weight: 1, arbitrary: oddString },
);

const base64url = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  maxLength: 80,
});
const bigDecimal = fc.oneof(
  fc.bigInt({ min: -1n, max: 2n ** 66n }).map(String),
  fc.constantFrom('9223372036854775807', '9223372036854775808', '99999999999999999999', '0', '-1', '1e3', ''),
);
const snapshotText = fc.oneof(
  fc.tuple(bigDecimal, bigDecimal, fc.array(bigDecimal, { maxLength: 3 })).map(([a, b, xs]) => `${a}:${b}:${xs.join(',')}`),
  fc.constantFrom('1:1:', '10:20:15', '10:20:5', '0:0:', '5:3:', 'x'),
);

/** Cursors: real ones, truncated or extended, random base64url, and forged documents of every cursor kind. */
export const oddCursor = (world: FuzzWorld): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...world.cursors) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...world.cursors), fc.nat(40)).map(([c, n]) => c.slice(0, n)) },
    { weight: 1, arbitrary: fc.constantFrom(...world.cursors).map((c) => `${c}x`) },
    { weight: 1, arbitrary: base64url },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map(encodeCursor) },
    // Positions (customers lists).
    {
      weight: 2,
      arbitrary: fc
        .record(
          { o: fc.constantFrom('CREATED_AT:ASC', 'UPDATED_AT:DESC', 'x'), t: oddDate, i: fc.oneof(fc.uuid(), oddString) },
          { requiredKeys: [] },
        )
        .map(encodeCursor),
    },
    // REST cursors: a position and the filters of the first page.
    {
      weight: 2,
      arbitrary: fc
        .record({
          p: fc.oneof(fc.constantFrom(...world.cursors), oddString),
          f: fc.oneof(
            fc.record(
              {
                status: fc.oneof(fc.array(fc.constantFrom('PENDING', 'VERIFIED', 'toString', '__proto__', '')), anyValue),
                aml_status: fc.oneof(fc.array(fc.constantFrom('CLEAR', 'constructor')), anyValue),
                updated_since: fc.oneof(oddDate, anyValue),
                external_id: fc.oneof(oddString, anyValue),
                constructor: anyValue,
              },
              { requiredKeys: [] },
            ),
            anyValue,
          ),
        })
        .map(encodeCursor),
    },
    // History cursors.
    { weight: 1, arbitrary: fc.oneof(bigDecimal, anyValue).map((h) => encodeCursor({ h })) },
    // Subscription cursors.
    {
      weight: 1,
      arbitrary: fc
        .record({ p: snapshotText, c: snapshotText, i: bigDecimal, t: fc.oneof(fc.integer(), fc.double(), fc.constant(1e300)) })
        .map(encodeCursor),
    },
  );

// ---------------------------------------------------------------- headers

const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constant(0x20) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
);
/** Header values Node will send (no CR, LF or NUL; Latin-1 bytes included). */
const headerValue = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: headerChar.map((c) => String.fromCharCode(c)), maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: headerChar.map((c) => String.fromCharCode(c)), minLength: 250, maxLength: 300 }) },
);

const authorization = (world: FuzzWorld, usual: string) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(`Bearer ${usual}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(`Bearer ${world.readerKey}`, `Bearer ${world.otherOrgKey}`, `bearer ${usual}`, `Bearer   ${usual}  `),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(
          '',
          'Bearer',
          'Bearer ',
          `Basic ${usual}`,
          `Bearer ${usual} extra`,
          `Bearer ${usual.slice(0, -1)}`,
          'Bearer ic_live_x',
        ),
        headerValue.map((v) => `Bearer ${v}`),
      ),
    },
  );

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      '',
    ),
  },
);

const idempotencyKey = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom('k-1', 'k-2', 'k-3') },
  { weight: 2, arbitrary: headerValue },
);

// ---------------------------------------------------------------- REST requests

const listQuery = (world: FuzzWorld) =>
  fc
    .record(
      {
        limit: fc.oneof(fc.integer({ min: -5, max: 120 }).map(String), fc.constantFrom('1e2', '50.0', '', '0x10'), oddString),
        cursor: oddCursor(world),
        status: fc.oneof(
          fc
            .array(fc.constantFrom('PENDING', 'VERIFIED', 'NOT_STARTED', 'toString', '__proto__', 'constructor', ''), { maxLength: 4 })
            .map((s) => s.join(',')),
          oddString,
        ),
        aml_status: fc.array(fc.constantFrom('CLEAR', 'NOT_SCREENED', 'hasOwnProperty', ' '), { maxLength: 3 }).map((s) => s.join(',')),
        updated_since: oddDate,
        external_id: fc.oneof(fc.constantFrom(...EXTERNAL_IDS), oddString),
        include: fc.oneof(fc.constant('total_count'), oddString),
        zapier_extra: oddString,
      },
      { requiredKeys: [] },
    )
    .map((q) => Object.entries(q).map(([k, v]) => `${k}=${encodeBytes(v)}`));

const restRequest = (world: FuzzWorld): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      route: fc.oneof(
        { weight: 3, arbitrary: fc.constant({ method: 'POST', path: fc.constant('/customers') }) },
        { weight: 3, arbitrary: fc.constant({ method: 'PATCH', path: idSegment(world).map((id) => `/customers/${id}`) }) },
        { weight: 2, arbitrary: fc.constant({ method: 'GET', path: idSegment(world).map((id) => `/customers/${id}`) }) },
        { weight: 1, arbitrary: fc.constant({ method: 'GET', path: idSegment(world).map((id) => `/customers/${id}/aml`) }) },
        { weight: 3, arbitrary: fc.constant({ method: 'GET', path: listQuery(world).map((q) => `/customers?${q.join('&')}`) }) },
        {
          weight: 1,
          arbitrary: fc.constant({
            method: 'GET',
            path: fc.oneof(rawPathSegment, oddString.map(encodeBytes)).map((s) => `/${s}`),
          }),
        },
        { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'HEAD').map((method) => ({ method, path: fc.constant('/customers') })) },
      ),
      authorization: authorization(world, world.writerKey),
      // fc.option's `freq`: undefined once in `freq` draws.
      contentType: fc.option(contentType, { nil: undefined, freq: 10 }),
      key: idempotencyKey,
      requestId: fc.option(headerValue, { nil: undefined, freq: 2 }),
      body: bodyText,
    })
    .chain(({ route, ...rest }) => route.path.map((path) => ({ ...rest, method: route.method, path })))
    .map(({ method, path, authorization: auth, contentType: type, key, requestId, body }) => {
      const write = method === 'POST' || method === 'PATCH';
      const headers: Record<string, string> = { authorization: auth };
      if (write && type !== undefined) headers['content-type'] = type;
      if (write && key !== undefined) headers['idempotency-key'] = key;
      if (requestId !== undefined) headers['x-request-id'] = requestId;
      return {
        surface: 'rest',
        method,
        path: `/api/v1${path}`,
        headers,
        ...(write ? { body } : {}),
        idempotencyKey: write && key !== undefined,
      } satisfies FuzzRequest;
    });

// ---------------------------------------------------------------- GraphQL requests

/** A value in about one draw of ten, undefined otherwise. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const PAYLOAD = '__typename ... on Error { code message } ... on ValidationError { fieldErrors { field message } }';

interface Operation {
  query: string;
  variables: Record<string, unknown>;
  key: string;
  mutation?: string;
  idempotencyKey?: boolean;
}

const filterValue = fc.oneof(
  fc.record(
    {
      kycStatus: fc.oneof(fc.array(fc.constantFrom('PENDING', 'VERIFIED', 'toString')), anyValue),
      amlStatus: fc.array(fc.constantFrom('CLEAR', 'IN_PROGRESS')),
      updatedSince: oddDate,
      externalId: oddString,
      type: fc.constantFrom('INDIVIDUAL', 'nope'),
      search: oddString,
    },
    { requiredKeys: [] },
  ),
  anyValue,
);
const intValue = fc.oneof(fc.integer({ min: -5, max: 120 }), fc.constantFrom(2 ** 31, 2 ** 53, 1.5, -0), anyValue);

/** Ways of selecting a customer's history under the list; every one uses fragment H or none. */
const HISTORY_SELECTIONS = [
  'statusHistory(first: $hf, after: $ha) { edges { cursor node { kind } } } ...H',
  '...H',
  '... on Customer { ...H two: statusHistory(first: 2) @skip(if: true) { edges { node { kind } } } }',
];

const graphqlOperation = (world: FuzzWorld): fc.Arbitrary<Operation> =>
  fc.oneof(
    fc.record({ id: idValue(world) }).map((variables) => ({
      query: 'query Q($id: ID!) { customer(id: $id) { id externalId fullName kycStatus updatedAt aml { status } } }',
      variables,
      key: world.writerKey,
    })),
    fc.record({ id: idValue(world) }).map((variables) => ({
      query: 'query Q($id: ID!) { customerAml(id: $id) { status screenedAt flags { pep } } }',
      variables,
      key: world.writerKey,
    })),
    fc
      .record(
        {
          first: intValue,
          after: oddCursor(world),
          filter: filterValue,
          orderBy: fc.oneof(
            fc.record({ field: fc.constantFrom('CREATED_AT', 'UPDATED_AT', 'x'), direction: fc.constantFrom('ASC', 'DESC') }),
            anyValue,
          ),
          hf: intValue,
          ha: oddCursor(world),
        },
        { requiredKeys: [] },
      )
      // The page inlines the history it finds in its selection (graphql/selection.ts): also
      // reached through a fragment, an inline fragment and a skipped duplicate.
      .chain((variables) =>
        fc.constantFrom(...HISTORY_SELECTIONS).map((history) => ({
          query: `query Q($first: Int, $after: String, $filter: CustomerFilter, $orderBy: CustomerOrder, $hf: Int, $ha: String) {
          customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
            totalCount pageInfo { hasNextPage endCursor }
            edges { cursor node { id ${history} } }
          }
        }
        fragment H on Customer { statusHistory(first: $hf, after: $ha) { edges { cursor node { kind } } } }`,
          variables,
          key: world.writerKey,
        })),
      ),
    fc.record({ filter: filterValue }, { requiredKeys: [] }).map((variables) => ({
      query: 'query Q($filter: CustomerFilter) { customerStats(filter: $filter) { total kyc { status count } } }',
      variables,
      key: world.writerKey,
    })),
    fc.record({ input: inputValue, key: fc.option(oddString, { nil: undefined }) }, { requiredKeys: ['input'] }).map((variables) => ({
      query: `mutation M($input: UpsertCustomerInput!, $key: String) { upsertCustomer(input: $input, idempotencyKey: $key) { ${PAYLOAD} } }`,
      variables,
      key: world.writerKey,
      mutation: 'upsertCustomer',
      idempotencyKey: typeof variables.key === 'string',
    })),
    fc
      .record(
        { id: idValue(world), input: inputValue, key: fc.option(fc.oneof(fc.constantFrom('k-1', 'k-2'), oddString), { nil: undefined }) },
        { requiredKeys: ['id', 'input'] },
      )
      .map((variables) => ({
        query: `mutation M($id: ID!, $input: UpdateCustomerInput!, $key: String) { updateCustomer(id: $id, input: $input, idempotencyKey: $key) { ${PAYLOAD} } }`,
        variables,
        key: world.writerKey,
        mutation: 'updateCustomer',
        idempotencyKey: typeof variables.key === 'string',
      })),
    fc
      .record(
        {
          id: idValue(world),
          to: fc.oneof(fc.constantFrom('PENDING', 'IN_PROGRESS', 'VERIFIED', 'FAILED'), anyValue),
          identity: fc.oneof(
            fc.record({ legalName: oddString, country: fc.oneof(fc.constantFrom('GBR', 'gbr', 'XXX'), oddString) }),
            anyValue,
          ),
        },
        { requiredKeys: ['id', 'to'] },
      )
      .map((variables) => ({
        query: `mutation M($id: ID!, $to: KycStatus!, $identity: VerifiedIdentityInput) { transitionKyc(id: $id, to: $to, identity: $identity) { ${PAYLOAD} } }`,
        variables,
        key: world.backOfficeKey,
        mutation: 'transitionKyc',
      })),
    fc
      .record(
        {
          id: idValue(world),
          status: fc.constantFrom('IN_PROGRESS', 'CLEAR', 'NEEDS_REVIEW', 'RESOLVED'),
          flags: fc.oneof(fc.record({ pep: fc.boolean() }), anyValue),
        },
        { requiredKeys: ['id', 'status'] },
      )
      .map((variables) => ({
        query: `mutation M($id: ID!, $status: AmlStatus!, $flags: AmlFlagsInput) { recordAmlScreening(id: $id, status: $status, flags: $flags) { ${PAYLOAD} } }`,
        variables,
        key: world.backOfficeKey,
        mutation: 'recordAmlScreening',
      })),
    // Literals in the document rather than variables.
    fc
      .oneof(idValue(world), oddDate, oddCursor(world))
      .filter((s) => s.length <= 3_000)
      .chain((s) =>
        fc
          .constantFrom(
            `{ customer(id: ${JSON.stringify(s)}) { id } }`,
            `{ customers(filter: { updatedSince: ${JSON.stringify(s)}, search: ${JSON.stringify(s)} }) { totalCount } }`,
            `{ customers(after: ${JSON.stringify(s)}) { edges { cursor } } }`,
            `{ customers(first: ${s.length}, filter: { externalId: ${JSON.stringify(s)} }) { edges { node { id } } } }`,
          )
          .map((query) => ({ query, variables: {}, key: world.writerKey })),
      ),
    // Documents that are not quite GraphQL, and operation names that select nothing.
    fc
      .constantFrom(
        '{ viewer { scopes } }',
        'query A { viewer { scopes } } query B { viewer { scopes } }',
        '{ customers(first: 1) { edges { nope } } }',
      )
      .chain((doc) =>
        fc
          .oneof(
            fc.constant(doc),
            fc.nat(doc.length).map((n) => doc.slice(0, n)),
            fc.tuple(fc.nat(doc.length), fc.constantFrom(...'{}()$!"\\:@#')).map(([n, c]) => doc.slice(0, n) + c + doc.slice(n)),
            fc.string({ unit: char, maxLength: 60 }),
          )
          .map((query) => ({ query, variables: {}, key: world.writerKey })),
      ),
    fc.record({ x: anyValue }).map(({ x }) => ({
      query: 'query Q($x: Boolean!) { viewer @include(if: $x) { scopes } }',
      variables: { x },
      key: world.writerKey,
    })),
  );

/** Documents past the GraphQL limits (SPEC section 9): answered 400 (or 413) with a code naming the limit. */
const abusiveOperation = (world: FuzzWorld): fc.Arbitrary<Operation> =>
  fc
    .oneof(
      // Nesting, up to the depth that once overflowed the parser's stack.
      fc.integer({ min: 5, max: 3_000 }).map((n) => `${'{ a '.repeat(n)}${'}'.repeat(n)}`),
      fc.integer({ min: 5, max: 60 }).map((n) => `{ customers(first: 100) { edges { node { ${'aml { flags { pep } } '.repeat(n)} } } } }`),
      // Aliases of a list field: each one more statement, if executed.
      fc
        .integer({ min: 10, max: 2_000 })
        .map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: customers(first: 100) { totalCount }`).join(' ')} }`),
      fc.integer({ min: 10, max: 5_000 }).map((n) => `{ viewer ${'@include(if: true) '.repeat(n)}{ scopes } }`),
      fc
        .integer({ min: 10, max: 1_000 })
        .map((n) => `query Q(${Array.from({ length: n }, (_, i) => `$v${i}: Int`).join(', ')}) { viewer { scopes } }`),
      // Cost: lists inside lists, multiplied by their `first`.
      fc
        .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))
        .map(([a, b]) => `{ customers(first: ${a}) { edges { node { statusHistory(first: ${b}) { edges { node { kind } } } } } } }`),
      // Size: a long comment or string, up to past the body limit.
      fc.integer({ min: 1_000, max: 200_000 }).map((n) => `# ${'x'.repeat(n)}\n{ viewer { scopes } }`),
    )
    .map((query) => ({ query, variables: {}, key: world.writerKey }));

const graphqlRequest = (world: FuzzWorld): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      op: fc.oneof({ weight: 12, arbitrary: graphqlOperation(world) }, { weight: 1, arbitrary: abusiveOperation(world) }),
      transport: fc.oneof(
        { weight: 8, arbitrary: fc.constant('post' as const) },
        { weight: 2, arbitrary: fc.constant('get' as const) },
        { weight: 1, arbitrary: fc.constant('odd' as const) },
      ),
      oddVariablesParam: rarely(fc.constantFrom('x', '[1]', '{', '"s"', 'null', '%00')),
      operationName: rarely(fc.oneof(fc.constantFrom('Q', 'M', 'A', 'B'), oddString)),
      contentType,
      accept: fc.constantFrom('application/json', 'application/graphql-response+json', '*/*', 'application/json, text/plain'),
      auth: fc.boolean(),
    })
    .chain(({ op, auth, ...rest }) =>
      (auth ? authorization(world, op.key) : fc.constant(`Bearer ${op.key}`)).map((authorizationHeader) => ({
        op,
        authorizationHeader,
        ...rest,
      })),
    )
    .map(({ op, transport, oddVariablesParam, operationName, contentType: type, accept, authorizationHeader }) => {
      const headers: Record<string, string> = { authorization: authorizationHeader, accept };
      const base = {
        surface: 'graphql' as const,
        idempotencyKey: op.idempotencyKey ?? false,
        ...(op.mutation ? { mutation: op.mutation } : {}),
      };
      if (transport === 'get') {
        const variables = oddVariablesParam ?? JSON.stringify(op.variables);
        const params = [`query=${encodeBytes(op.query)}`, `variables=${encodeBytes(variables)}`];
        if (operationName !== undefined) params.push(`operationName=${encodeBytes(operationName)}`);
        return { ...base, method: 'GET', path: `/graphql?${params.join('&')}`, headers };
      }
      const body = JSON.stringify({ query: op.query, variables: op.variables, ...(operationName !== undefined ? { operationName } : {}) });
      headers['content-type'] = transport === 'odd' ? type : 'application/json';
      return { ...base, method: 'POST', path: '/graphql', headers, body };
    });

/**
 * Requests past the HTTP limits: a request line over Node's 16 KiB header limit (431 from the
 * parser, answered by the gateway's clientError handler) and REST bodies over 64 KiB (413).
 */
const oversizedRequest = (world: FuzzWorld): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    fc.integer({ min: 16_000, max: 40_000 }).map((n) => ({
      surface: 'rest' as const,
      method: 'GET',
      path: `/api/v1/customers/${'x'.repeat(n)}`,
      headers: { authorization: `Bearer ${world.readerKey}` },
      idempotencyKey: false,
    })),
    fc.integer({ min: 64 * 1024 - 64, max: 200_000 }).map((n) => ({
      surface: 'rest' as const,
      method: 'POST',
      path: '/api/v1/customers',
      headers: { authorization: `Bearer ${world.writerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fullName: 'x'.repeat(n), email: 'big@example.com' }),
      idempotencyKey: false,
    })),
  );

/** Every generated request, REST and GraphQL alike. */
export const fuzzRequest = (world: FuzzWorld): fc.Arbitrary<FuzzRequest> =>
  fc.oneof(
    { weight: 20, arbitrary: restRequest(world) },
    { weight: 20, arbitrary: graphqlRequest(world) },
    { weight: 1, arbitrary: oversizedRequest(world) },
  );
