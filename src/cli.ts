// Operators' tool: `npm run -s cli -- keys create|list|revoke` (SPEC section 2) and
// `webhooks create|list|delete` (SPEC section 10). Uses the same database configuration as the
// server, and migrates it first so it works on a fresh setup.
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey } from './auth/api-keys.js';
import { DEFAULT_INTEGRATOR_SCOPES, isScope, type Scope } from './auth/scopes.js';
import { ConfigError, loadConfig } from './config.js';
import type { Database } from './db/client.js';
import { openMigratedDatabase, targetOf } from './db/open.js';
import { createLogger } from './ops/logger.js';
import { WEBHOOK_EVENT_TYPES } from './webhooks/event-types.js';
import { createWebhooks } from './webhooks/index.js';

const USAGE = `usage:
  cli keys create --org <name> [--scopes <s1,s2,...>] [--label <text>] [--expires <ISO date>]
                  [--per-minute N] [--per-day N] [--json]
  cli keys list --org <name> [--json]
  cli keys revoke <id>
  cli webhooks create --org <name> --url <https URL> --events <type1,type2,...> [--description <text>] [--json]
  cli webhooks list --org <name> [--json]
  cli webhooks delete <id> --org <name>
event types: ${WEBHOOK_EVENT_TYPES.join(', ')}`;

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

async function run(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if ((group !== 'keys' && group !== 'webhooks') || !command) throw new UsageError(USAGE);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      org: { type: 'string' },
      scopes: { type: 'string' },
      label: { type: 'string' },
      expires: { type: 'string' },
      'per-minute': { type: 'string' },
      'per-day': { type: 'string' },
      url: { type: 'string' },
      events: { type: 'string' },
      description: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig();
  const { db } = await openMigratedDatabase(targetOf(config));
  try {
    if (group === 'webhooks') return await webhooks(db, command, values, positionals);
    switch (command) {
      case 'create': {
        if (!values.org) throw new UsageError('--org is required');
        const scopes = values.scopes
          ? values.scopes
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : [...DEFAULT_INTEGRATOR_SCOPES];
        const bad = scopes.filter((s) => !isScope(s));
        if (bad.length || scopes.length === 0) throw new UsageError(`unknown scope(s): ${bad.join(', ') || '(none given)'}`);
        let expiresAt: Date | undefined;
        if (values.expires) {
          expiresAt = new Date(values.expires);
          if (Number.isNaN(expiresAt.getTime())) throw new UsageError('--expires must be an ISO-8601 date');
        }
        const issued = await createApiKey(db.prisma, {
          org: values.org,
          scopes: scopes as Scope[],
          label: values.label,
          expiresAt,
          perMinute: positiveInt('per-minute', values['per-minute']),
          perDay: positiveInt('per-day', values['per-day']),
        });
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ key: issued.key, id: issued.id, org_id: issued.orgId, scopes: issued.scopes })}\n`);
        } else {
          process.stdout.write(`Created key ${issued.id} for organisation "${values.org}" (scopes: ${issued.scopes.join(', ')}).\n`);
          process.stdout.write(`The key is shown once; store it now:\n\n  ${issued.key}\n\n`);
        }
        return 0;
      }
      case 'list': {
        if (!values.org) throw new UsageError('--org is required');
        const keys = await listApiKeys(db.prisma, values.org);
        if (values.json) {
          process.stdout.write(`${JSON.stringify(keys)}\n`);
        } else {
          for (const k of keys) {
            const state = k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt < new Date() ? 'expired' : 'active';
            process.stdout.write(`${k.id}  ${k.display}  ${state}  ${k.scopes.join(',')}  ${k.label ?? ''}\n`);
          }
        }
        return 0;
      }
      case 'revoke': {
        const id = positionals[0];
        if (!id) throw new UsageError('keys revoke <id>');
        const found = await revokeApiKey(db.prisma, id).catch(() => false);
        if (!found) {
          process.stderr.write(`no key with id ${id}\n`);
          return 1;
        }
        process.stdout.write(`revoked ${id}\n`);
        return 0;
      }
      default:
        throw new UsageError(USAGE);
    }
  } finally {
    await db.close();
  }
}

type Values = { org?: string; url?: string; events?: string; description?: string; json?: boolean };

async function orgIdOf(db: Database, name: string | undefined): Promise<string> {
  if (!name) throw new UsageError('--org is required');
  const org = await db.prisma.organization.findUnique({ where: { name } });
  if (!org) throw new UsageError(`no organisation named "${name}"`);
  return org.id;
}

/** `webhooks create|list|delete`: the same domain operations as the GraphQL mutations. */
async function webhooks(db: Database, command: string, values: Values, positionals: string[]): Promise<number> {
  const config = loadConfig();
  // Management only: this process sends nothing.
  const { endpoints } = createWebhooks({ ...config, webhookConcurrency: 0 }, db, { now: () => new Date(), log: createLogger('silent') });
  switch (command) {
    case 'create': {
      const orgId = await orgIdOf(db, values.org);
      const events = (values.events ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      const r = await endpoints.create(orgId, { url: values.url, events, description: values.description });
      if (!r.ok) {
        const problems = r.failure.kind === 'invalid' ? r.failure.fieldErrors.map((f) => `--${f.field} ${f.message}`) : ['not found'];
        throw new UsageError(problems.join('\n'));
      }
      const { endpoint, secret } = r.value;
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ id: endpoint.id, url: endpoint.url, events: endpoint.events, secret })}\n`);
      } else {
        process.stdout.write(`Created webhook endpoint ${endpoint.id} → ${endpoint.url} (${endpoint.events.join(', ')}).\n`);
        process.stdout.write(`Its signing secret is shown once; store it now:\n\n  ${secret}\n\n`);
      }
      return 0;
    }
    case 'list': {
      const list = await endpoints.list(await orgIdOf(db, values.org));
      if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
      else {
        for (const e of list) {
          const state = e.enabled ? (e.failureCount > 0 ? `failing(${e.failureCount})` : 'enabled') : 'disabled';
          process.stdout.write(`${e.id}  ${state}  ${e.url}  ${e.events.join(',')}  ${e.description ?? ''}\n`);
        }
      }
      return 0;
    }
    case 'delete': {
      const id = positionals[0];
      if (!id) throw new UsageError('webhooks delete <id> --org <name>');
      const r = await endpoints.delete(await orgIdOf(db, values.org), id);
      if (!r.ok) {
        process.stderr.write(`no webhook endpoint with id ${id} in that organisation\n`);
        return 1;
      }
      process.stdout.write(`deleted ${id}\n`);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`cli failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
