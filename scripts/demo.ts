// `npm run demo [-- <api key>]`: against a running gateway, ingests a few customers with
// upsertCustomer and walks them through KYC and AML with the back-office mutations, so that
// someone watching `customerStatusChanged` in GraphiQL sees the events arrive.
//
//   GATEWAY_URL   default http://localhost:4000
//   API_KEY       or the first argument; needs customers:write and compliance:write (the key
//                 printed by `npm start` on a fresh embedded database has every scope)
//   DEMO_STEP_MS  pause between steps, default 700 (so a human can follow)

const url = (process.env.GATEWAY_URL ?? 'http://localhost:4000').replace(/\/$/, '');
const key = process.env.API_KEY ?? process.argv[2];
const stepMs = Number(process.env.DEMO_STEP_MS ?? 700);

const SUBSCRIPTION = `subscription {
  customerStatusChanged {
    cursor kind occurredAt
    customer { externalId fullName kycStatus aml { status flags { pep sanctions adverseMedia terrorism } } }
    kyc { from to }
    aml { from to }
  }
}`;

const UPSERT = `mutation Upsert($input: UpsertCustomerInput!) {
  upsertCustomer(input: $input) {
    __typename
    ... on UpsertCustomerSuccess { outcome customer { id } }
    ... on Error { code message }
  }
}`;

const KYC = `mutation Kyc($id: ID!, $to: KycStatus!, $identity: VerifiedIdentityInput) {
  transitionKyc(id: $id, to: $to, identity: $identity) {
    __typename
    ... on TransitionKycSuccess { customer { kycStatus } }
    ... on Error { code message }
  }
}`;

const AML = `mutation Aml($id: ID!, $status: AmlStatus!, $flags: AmlFlagsInput) {
  recordAmlScreening(id: $id, status: $status, flags: $flags) {
    __typename
    ... on RecordAmlScreeningSuccess { customer { aml { status } } }
    ... on Error { code message }
  }
}`;

type Step = { kyc: string; identity?: { legalName: string; country: string } } | { aml: string; flags?: Record<string, boolean> };

interface DemoCustomer {
  externalId: string;
  fullName: string;
  email: string;
  steps: Step[];
}

const run = Date.now().toString(36);
const kycToVerified = (legalName: string, country: string): Step[] => [
  { kyc: 'PENDING' },
  { kyc: 'IN_PROGRESS' },
  { kyc: 'VERIFIED', identity: { legalName, country } },
];

const customers: DemoCustomer[] = [
  {
    externalId: `demo-${run}-1`,
    fullName: 'Ada Lovelace',
    email: `ada.${run}@example.com`,
    steps: [...kycToVerified('Augusta Ada King', 'GBR'), { aml: 'IN_PROGRESS' }, { aml: 'CLEAR' }],
  },
  {
    externalId: `demo-${run}-2`,
    fullName: 'Grace Hopper',
    email: `grace.${run}@example.com`,
    steps: [
      ...kycToVerified('Grace Brewster Hopper', 'USA'),
      { aml: 'IN_PROGRESS' },
      { aml: 'NEEDS_REVIEW', flags: { pep: true } },
      { aml: 'RESOLVED' },
    ],
  },
  {
    externalId: `demo-${run}-3`,
    fullName: 'Alan Turing',
    email: `alan.${run}@example.com`,
    steps: [{ kyc: 'PENDING' }, { kyc: 'IN_PROGRESS' }, { kyc: 'AWAITING_RESUBMISSION' }, { kyc: 'IN_PROGRESS' }, { kyc: 'FAILED' }],
  },
];

/** What the demo reads of a mutation's result: on success the customer, on an error its code and message. */
interface MutationResult {
  __typename: string;
  code?: string;
  message?: string;
  outcome?: string;
  customer?: { id: string; kycStatus: string; aml: { status: string } };
}

async function gql(query: string, variables: Record<string, unknown>): Promise<Record<string, MutationResult | undefined>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as {
    data?: Record<string, MutationResult | undefined>;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  if (body.errors?.length) {
    const e = body.errors[0]!;
    throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
  }
  return body.data!;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, stepMs));

async function main(): Promise<void> {
  if (!key) {
    console.error('usage: npm run demo -- <api key>   (or API_KEY=<key> npm run demo); GATEWAY_URL defaults to http://localhost:4000');
    process.exit(2);
  }
  console.log(`Gateway: ${url}. To watch, open ${url}/graphql, set the header`);
  console.log(`  {"Authorization": "Bearer ${key.slice(0, 12)}…"}\nand run:\n\n${SUBSCRIPTION}\n`);

  const ids = new Map<string, string>();
  for (const c of customers) {
    const data = await gql(UPSERT, { input: { externalId: c.externalId, fullName: c.fullName, email: c.email } });
    const r = data.upsertCustomer;
    if (r?.__typename !== 'UpsertCustomerSuccess' || !r.customer)
      throw new Error(`upsertCustomer ${c.externalId}: ${r?.__typename} ${r?.code ?? ''} ${r?.message ?? ''}`);
    ids.set(c.externalId, r.customer.id);
    console.log(`ingested  ${c.externalId}  ${c.fullName.padEnd(14)} (${r.outcome ?? ''}, id ${r.customer.id})`);
  }

  // Interleave the customers' steps, one move at a time, like a back office working a queue.
  const longest = Math.max(...customers.map((c) => c.steps.length));
  for (let i = 0; i < longest; i++) {
    for (const c of customers) {
      const step = c.steps[i];
      if (!step) continue;
      await pause();
      const id = ids.get(c.externalId)!;
      if ('kyc' in step) {
        const r = (await gql(KYC, { id, to: step.kyc, identity: step.identity ?? null })).transitionKyc;
        if (r?.__typename !== 'TransitionKycSuccess' || !r.customer)
          throw new Error(`transitionKyc ${c.externalId} → ${step.kyc}: ${r?.code} ${r?.message}`);
        console.log(
          `KYC       ${c.externalId}  → ${r.customer.kycStatus}${step.identity ? ` (${step.identity.legalName}, ${step.identity.country})` : ''}`,
        );
      } else {
        const r = (await gql(AML, { id, status: step.aml, flags: step.flags ?? null })).recordAmlScreening;
        if (r?.__typename !== 'RecordAmlScreeningSuccess' || !r.customer)
          throw new Error(`recordAmlScreening ${c.externalId} → ${step.aml}: ${r?.code} ${r?.message}`);
        console.log(`AML       ${c.externalId}  → ${r.customer.aml.status}${step.flags ? ` ${JSON.stringify(step.flags)}` : ''}`);
      }
    }
  }
  console.log('\nDone: every move above was pushed to customerStatusChanged subscribers after its commit.');
}

main().catch((error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
