// The one test fixture: a migrated database and a real gateway on port 0 for a test file,
// registered with vitest so that both are disposed even when a test fails. Extra gateways (a
// second instance, a different clock or configuration) are disposed when their test ends; peers
// (`useGateway({ peers: [{ ownPool: 4 }] })`, PostgreSQL) are more instances for the whole file.
//
//   const ctx = useGateway({ poolSize: 6 });
//   it('…', async () => {
//     const { key, orgId } = await ctx.org([Scope.CustomersRead]);
//     const res = await ctx.gw.gql(key, '{ viewer { scopes } }');
//   });
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import type { Scope } from '../../src/auth/scopes.js';
import type { Database } from '../../src/db/client.js';
import type { Logger } from '../../src/ops/logger.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { issueKey, startGateway, uniqueOrg, type TestGateway } from './gateway.js';

export interface GatewayOptions {
  /** Environment overrides of the test configuration (e.g. `{ SUBSCRIPTION_BUFFER_SIZE: '5' }`). */
  env?: Record<string, string>;
  now?: () => Date;
  log?: Logger;
  random?: () => number;
}

/** Another instance of the gateway; `ownPool` (PostgreSQL) gives it its own pool of that size. */
export interface PeerOptions extends GatewayOptions {
  ownPool?: number;
}

export interface FixtureOptions extends GatewayOptions {
  /** PostgreSQL pool size of the file's database (PGlite ignores it). */
  poolSize?: number;
  /** More gateway instances for the whole file (multi-instance tests), closed with it. */
  peers?: readonly PeerOptions[];
}

export interface OrgKey {
  key: string;
  /** The key's id. */
  id: string;
  orgId: string;
  /** The organisation's name (to issue more keys for it). */
  name: string;
}

export interface GatewayFixture {
  /** The file's database (valid inside tests and hooks). */
  readonly t: TestDatabase;
  readonly db: Database;
  /** The file's gateway. */
  readonly gw: TestGateway;
  /** The file's other instances, one per `peers` option, in that order. */
  readonly peers: readonly TestGateway[];
  /** A fresh organisation and a key for it (every scope unless told otherwise). */
  org(scopes?: readonly Scope[], extra?: Parameters<typeof issueKey>[3] & { prefix?: string }): Promise<OrgKey>;
  /** Another key of an existing organisation. */
  keyFor(orgName: string, scopes?: readonly Scope[], extra?: Parameters<typeof issueKey>[3]): Promise<OrgKey>;
  /**
   * Another gateway instance, closed when the current test ends. On PostgreSQL, `ownPool`
   * gives it its own connection pool (a second instance proper); by default it shares the
   * file's database client.
   */
  extraGateway(options?: PeerOptions): Promise<TestGateway>;
}

/** Starts another instance on `t`: on its own pool when asked, else on the file's client. */
async function startPeer(t: TestDatabase, options: PeerOptions): Promise<TestGateway> {
  const { ownPool, ...gatewayOptions } = options;
  const db = ownPool ? await t.openAnother(ownPool) : t.db;
  return startGateway(db, gatewayOptions);
}

/** Registers the file's database and gateway with beforeAll/afterAll and returns accessors. */
export function useGateway(options: FixtureOptions = {}): GatewayFixture {
  let t: TestDatabase | undefined;
  let gw: TestGateway | undefined;
  const peers: TestGateway[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(options.poolSize);
    gw = await startGateway(t.db, options);
    for (const peer of options.peers ?? []) peers.push(await startPeer(t, peer));
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await gw?.close();
    await t?.close();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the fixture's ${what} is only available inside tests and hooks`);
    return value;
  };

  const fixture: GatewayFixture = {
    get t() {
      return ready(t, 'database');
    },
    get db() {
      return ready(t, 'database').db;
    },
    get gw() {
      return ready(gw, 'gateway');
    },
    get peers() {
      return peers;
    },
    async org(scopes, extra = {}) {
      const { prefix, ...limits } = extra;
      const name = uniqueOrg(prefix);
      const issued = await issueKey(fixture.db, name, scopes, limits);
      return { ...issued, name };
    },
    async keyFor(orgName, scopes, extra) {
      const issued = await issueKey(fixture.db, orgName, scopes, extra);
      return { ...issued, name: orgName };
    },
    async extraGateway(extra = {}) {
      const started = await startPeer(fixture.t, extra);
      onTestFinished(() => started.close());
      return started;
    },
  };
  return fixture;
}
