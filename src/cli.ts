// Key management: `npm run -s cli -- keys create|list|revoke` (SPEC section 2). Uses the same
// database configuration as the server, and migrates it first so it works on a fresh setup.
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, revokeApiKey } from './auth/api-keys.js';
import { DEFAULT_INTEGRATOR_SCOPES, isScope, type Scope } from './auth/scopes.js';
import { ConfigError, loadConfig } from './config.js';
import { openMigratedDatabase, targetOf } from './db/open.js';

const USAGE = `usage:
  cli keys create --org <name> [--scopes <s1,s2,...>] [--label <text>] [--expires <ISO date>]
                  [--per-minute N] [--per-day N] [--json]
  cli keys list --org <name> [--json]
  cli keys revoke <id>`;

class UsageError extends Error {}

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

async function run(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group !== 'keys' || !command) throw new UsageError(USAGE);
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
      json: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig();
  const { db } = await openMigratedDatabase(targetOf(config));
  try {
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
