// The command-line key tool and the process entry, run as child processes like a user would.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../src/auth/api-keys.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { createTestDatabase, dbKind, onPostgres, type TestDatabase } from './helpers/db.js';
import { ROOT, runTs, startNpm } from './helpers/process.js';
import { Clients } from './helpers/subscriptions.js';

// Child processes start a Node runtime and open a database each: generous timeouts, since a
// loaded two-core CI machine can take many seconds per spawn.
const SPAWN_TIMEOUT = 120_000;

describe(`cli keys (${dbKind})`, { timeout: SPAWN_TIMEOUT }, () => {
  let t: TestDatabase | undefined;
  let env: Record<string, string>;
  let dir: string | undefined;
  beforeAll(async () => {
    if (onPostgres) {
      t = await createTestDatabase(2);
      env = { DATABASE_URL: t.url!, LOG_LEVEL: 'silent' };
    } else {
      dir = mkdtempSync(join(tmpdir(), 'cg-cli-'));
      env = { DATABASE_URL: '', DATA_DIR: dir, LOG_LEVEL: 'silent' };
    }
  });
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('create --json prints exactly one JSON object; list shows it without the secret; revoke revokes', async () => {
    const created = await runTs(
      'src/cli.ts',
      [
        'keys',
        'create',
        '--org',
        'acme',
        '--scopes',
        'customers:read,aml:read',
        '--label',
        'crm sync',
        '--per-minute',
        '7',
        '--per-day',
        '70',
        '--json',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const lines = created.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const issued = JSON.parse(lines[0]!) as { key: string; id: string; org_id: string; scopes: string[] };
    expect(Object.keys(issued).sort()).toEqual(['id', 'key', 'org_id', 'scopes']);
    expect(issued.key).toMatch(/^ic_live_[A-Za-z0-9_-]{32,}$/);
    expect(issued.scopes).toEqual(['customers:read', 'aml:read']);
    const listedJson = await runTs('src/cli.ts', ['keys', 'list', '--org', 'acme', '--json'], env);
    expect(JSON.parse(listedJson.stdout)).toEqual([
      expect.objectContaining({ id: issued.id, label: 'crm sync', perMinute: 7, perDay: 70 }),
    ]);

    const listed = await runTs('src/cli.ts', ['keys', 'list', '--org', 'acme'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(issued.id);
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).not.toContain(issued.key);
    expect(listed.stdout).not.toContain(hashKey(issued.key));

    const revoked = await runTs('src/cli.ts', ['keys', 'revoke', issued.id], env);
    expect(revoked.code).toBe(0);
    const after = await runTs('src/cli.ts', ['keys', 'list', '--org', 'acme'], env);
    expect(after.stdout).toContain('revoked');
  });

  it('rejects unknown scopes and missing arguments with a usage error (exit 2)', async () => {
    const bad = await runTs('src/cli.ts', ['keys', 'create', '--org', 'acme', '--scopes', 'customers:delete'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown scope');
    const noOrg = await runTs('src/cli.ts', ['keys', 'create'], env);
    expect(noOrg.code).toBe(2);
  });
});

describe.runIf(!onPostgres)('npm start on a fresh embedded database', { timeout: SPAWN_TIMEOUT }, () => {
  // `npm start` runs the compiled gateway (building dist/ first when stale), and SIGTERM sent
  // to npm reaches it: npm forwards it, and no shell stands in between.
  it('migrates, prints a demo key that answers viewer, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-start-'));
    try {
      const proc = await startNpm(
        { DATABASE_URL: '', DATA_DIR: join(dir, 'data'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
        /listening on http:\/\/localhost:(\d+)[\s\S]*?(ic_live_[A-Za-z0-9_-]+)/,
      );
      const [, port, key] = proc.match;
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ viewer { organization { name } scopes } }' }),
      });
      expect(await res.json()).toEqual({
        data: {
          viewer: {
            organization: { name: 'demo' },
            scopes: ['customers:write', 'customers:read', 'aml:read', 'compliance:write', 'webhooks:manage'],
          },
        },
      });
      const graphiql = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
      expect(await graphiql.text()).toContain('<html');

      // `npm run demo` against it: every move it makes reaches a subscriber watching.
      const clients = new Clients();
      try {
        const watcher = clients.subscribe(clients.ws(`http://127.0.0.1:${port}`, key!));
        // Handshake instead of a sleep: move probe customers until the watcher sees one, so
        // the subscription is live before the demo starts.
        const gql = (query: string, variables: object) =>
          fetch(`http://127.0.0.1:${port}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ query, variables }),
          }).then((r) => r.json());
        let probes = 0;
        while (watcher.results.length === 0) {
          probes += 1;
          const up = await gql(
            'mutation($i: UpsertCustomerInput!) { upsertCustomer(input: $i) { ... on UpsertCustomerSuccess { customer { id } } } }',
            {
              i: { externalId: `probe-${probes}`, fullName: 'Probe', email: `probe-${probes}@example.com` },
            },
          );
          await gql('mutation($id: ID!) { transitionKyc(id: $id, to: PENDING) { __typename } }', {
            id: up.data.upsertCustomer.customer.id,
          });
          await Promise.race([watcher.waitFor(1), new Promise((r) => setTimeout(r, 250))]);
        }
        const demo = await runTs('scripts/demo.ts', [key!], { GATEWAY_URL: `http://127.0.0.1:${port}`, DEMO_STEP_MS: '0' });
        expect(demo.code, demo.stderr).toBe(0);
        const moves = demo.stdout.split('\n').filter((l) => /^(KYC|AML)\s/.test(l));
        expect(moves.length).toBeGreaterThanOrEqual(10);
        const demoChanges = () => watcher.changes.filter((c: any) => !c.customer.externalId.startsWith('probe-'));
        while (demoChanges().length < moves.length) await watcher.waitFor(watcher.results.length + 1);
        expect(demoChanges().map((c: any) => c.kind)).toEqual(moves.map((l) => l.slice(0, 3)));
      } finally {
        await clients.closeAll();
      }
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.output()).not.toContain('Error');

      // The embedded database is kept between runs: no new demo key, the first one still works.
      const again = await startNpm(
        { DATABASE_URL: '', DATA_DIR: join(dir, 'data'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
        /listening on http:\/\/localhost:(\d+)/,
      );
      try {
        const res2 = await fetch(`http://127.0.0.1:${again.match[1]}/api/v1/customers?include=total_count`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(res2.status).toBe(200);
        expect(((await res2.json()) as { total_count: number }).total_count).toBeGreaterThan(0);
        expect(again.output()).not.toContain('ic_live_');
      } finally {
        again.child.kill('SIGTERM');
        expect(await again.exited).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(!onPostgres)('npm start on a fresh clone (no dist/)', { timeout: SPAWN_TIMEOUT }, () => {
  it('builds dist/, serves from it with no shell between npm and node, and exits 0 on SIGTERM', async () => {
    // A copy of what a clone holds (node_modules linked, as after npm install), without dist/.
    const clone = mkdtempSync(join(tmpdir(), 'cg-clone-'));
    try {
      for (const entry of ['src', 'web', 'scripts', 'prisma', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
        cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
      }
      symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
      expect(existsSync(join(clone, 'dist'))).toBe(false);

      const proc = await startNpm(
        { DATABASE_URL: '', DATA_DIR: join(clone, '.data'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
        /listening on http:\/\/localhost:(\d+)[\s\S]*?(ic_live_[A-Za-z0-9_-]+)/,
        clone,
      );
      try {
        expect(proc.output()).toContain('Building dist/ (dist/ is missing)');
        expect(existsSync(join(clone, 'dist', 'main.js'))).toBe(true);
        const [, port, key] = proc.match;
        const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: '{ viewer { organization { name } } }' }),
        });
        expect(await res.json()).toEqual({ data: { viewer: { organization: { name: 'demo' } } } });
        // The dashboard page was bundled into dist/ by the build and is served from there.
        expect(existsSync(join(clone, 'dist', 'dashboard', 'index.html'))).toBe(true);
        const page = await fetch(`http://127.0.0.1:${port}/dashboard`);
        expect(page.status).toBe(200);
        const script = /<script type="module" src="([^"]+)"/.exec(await page.text())?.[1];
        expect(script).toMatch(/^\/dashboard\/app-\w+\.js$/);
        expect((await fetch(`http://127.0.0.1:${port}${script}`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
        // npm's child is node itself (`exec` replaced the shell), so npm's forwarded SIGTERM reaches the gateway.
        const children = readFileSync(`/proc/${proc.child.pid}/task/${proc.child.pid}/children`, 'utf8').trim().split(/\s+/);
        expect(children).toHaveLength(1);
        expect(readFileSync(`/proc/${children[0]}/cmdline`, 'utf8').split('\0')).toEqual(['node', 'scripts/start.mjs', '']);
      } finally {
        proc.child.kill('SIGTERM');
        expect(await proc.exited).toBe(0);
      }
      expect(proc.output()).toMatch(/"msg":"shut down"/);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});

describe('configuration', () => {
  it('is validated at start with a message naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' })).toThrowError(ConfigError);
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x' });
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
      expect((error as Error).message).toContain('PORT');
      expect((error as Error).message).toContain('DATABASE_URL');
    }
    expect(loadConfig({}).port).toBe(4000);
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h/db' }).databaseUrl).toBe('postgresql://u@h/db');
  });
});
