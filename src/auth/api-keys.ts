// API keys (SPEC section 2): `ic_live_` + 43 base64url characters (256 random bits). Only
// the SHA-256 of the whole key is stored, with its first 12 and last 4 characters for display.
import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db/client.js';
import type { Scope } from './scopes.js';
import { isScope } from './scopes.js';

export const KEY_PREFIX = 'ic_live_';
const KEY_PATTERN = /^ic_live_[A-Za-z0-9_-]{32,}$/;

/** What a request knows about its caller once its key is verified. */
export interface Principal {
  keyId: string;
  /** The key's label (for the audit trail: events record who made a change by key id and label). */
  keyLabel: string | null;
  orgId: string;
  orgName: string;
  scopes: readonly Scope[];
  /** Per-key rate limits; null means the configured default. */
  perMinute: number | null;
  perDay: number | null;
}

export interface IssuedKey {
  key: string;
  id: string;
  orgId: string;
  scopes: Scope[];
}

export interface CreateKeyInput {
  org: string;
  scopes: Scope[];
  label?: string | undefined;
  expiresAt?: Date | undefined;
  perMinute?: number | undefined;
  perDay?: number | undefined;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function isWellFormedKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** Creates the organisation if needed and a new key for it; the plaintext is returned once. */
export async function createApiKey(prisma: PrismaClient, input: CreateKeyInput): Promise<IssuedKey> {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  const org = await prisma.organization.upsert({
    where: { name: input.org },
    create: { name: input.org },
    update: {},
  });
  const row = await prisma.apiKey.create({
    data: {
      orgId: org.id,
      keyHash: hashKey(key),
      prefix: key.slice(0, 12),
      last4: key.slice(-4),
      label: input.label ?? null,
      scopes: input.scopes,
      expiresAt: input.expiresAt ?? null,
      perMinute: input.perMinute ?? null,
      perDay: input.perDay ?? null,
    },
  });
  return { key, id: row.id, orgId: org.id, scopes: [...input.scopes] };
}

export interface KeySummary {
  id: string;
  display: string;
  label: string | null;
  scopes: string[];
  /** Own rate limits; null means the configured default. */
  perMinute: number | null;
  perDay: number | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** Lists an organisation's keys, never their secrets. */
export async function listApiKeys(prisma: PrismaClient, orgName: string): Promise<KeySummary[]> {
  const rows = await prisma.apiKey.findMany({
    where: { org: { name: orgName } },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map((r) => ({
    id: r.id,
    display: `${r.prefix}…${r.last4}`,
    label: r.label,
    scopes: r.scopes,
    perMinute: r.perMinute,
    perDay: r.perDay,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
  }));
}

/** Revokes a key; returns false when there is no such key. Idempotent. */
export async function revokeApiKey(prisma: PrismaClient, id: string): Promise<boolean> {
  const { count } = await prisma.apiKey.updateMany({
    where: { id, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  if (count > 0) return true;
  return (await prisma.apiKey.count({ where: { id } })) > 0;
}

interface CacheEntry {
  principal: Principal | null;
  expiresAt: Date | null;
  fetchedAt: number;
}

/**
 * Verifies keys with a short cache: at most one database read per key per `cacheMs`
 * (default 500 ms), so a revocation on any instance bites within one second while a busy
 * key costs no round trip per request. `last_used_at` is written at most once a minute.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  /** Loads in flight: every request (or WebSocket recheck) of a key whose entry expired joins one read. */
  private readonly loading = new Map<string, Promise<CacheEntry>>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The principal of a plaintext key, or null when it is malformed, unknown, revoked or expired. */
  async verify(key: string): Promise<Principal | null> {
    if (!isWellFormedKey(key)) return null;
    const hash = hashKey(key);
    const now = this.now();
    let entry = this.cache.get(hash);
    if (!entry || now - entry.fetchedAt >= this.cacheMs) {
      // Without the join, every request arriving while the entry is stale would read the key
      // (a burst of reads each time it expires, queueing on the pool under load).
      let pending = this.loading.get(hash);
      if (!pending) {
        pending = this.load(hash, now).then(
          (loaded) => {
            this.loading.delete(hash);
            if (this.cache.size > 10_000) this.cache.clear();
            this.cache.set(hash, loaded);
            return loaded;
          },
          (error: unknown) => {
            this.loading.delete(hash);
            throw error;
          },
        );
        this.loading.set(hash, pending);
      }
      entry = await pending;
    }
    if (!entry.principal) return null;
    if (entry.expiresAt && entry.expiresAt.getTime() <= now) return null;
    this.touch(entry.principal.keyId, now);
    return entry.principal;
  }

  private async load(hash: string, now: number): Promise<CacheEntry> {
    const row = await this.prisma.apiKey.findUnique({ where: { keyHash: hash }, include: { org: true } });
    if (!row || row.revokedAt) return { principal: null, expiresAt: null, fetchedAt: now };
    return {
      fetchedAt: now,
      expiresAt: row.expiresAt,
      principal: {
        keyId: row.id,
        keyLabel: row.label,
        orgId: row.orgId,
        orgName: row.org.name,
        scopes: row.scopes.filter(isScope),
        perMinute: row.perMinute,
        perDay: row.perDay,
      },
    };
  }

  private touch(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId) ?? 0;
    if (now - last < 60_000) return;
    this.lastUsedWritten.set(keyId, now);
    // Best effort, off the request path: a lost write only makes the display stale.
    this.prisma.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) } }).catch(() => {});
  }
}

/** Extracts the key from an `Authorization: Bearer <key>` value; undefined when absent. */
export function bearerToken(header: string | null | undefined): string | undefined | null {
  if (header === null || header === undefined || header === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
