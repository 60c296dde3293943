import { and, asc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { newId } from '../ids.js';
import { apiKeys } from '../schema/api-keys.js';
import { tenants } from '../schema/tenants.js';
import { generateApiKey, hashApiKey } from './tenants.js';

/** What may be shown about a key: never its hash. */
export interface ApiKeyInfo {
  id: string;
  tenantId: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const infoColumns = {
  id: apiKeys.id,
  tenantId: apiKeys.tenantId,
  prefix: apiKeys.prefix,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
};

/** The prefix stored beside a key's hash: enough to tell keys apart, far too little to use. */
export function apiKeyPrefix(apiKey: string): string {
  return apiKey.slice(0, 12);
}

/**
 * Issues another key for a tenant (a rotation: the old keys stay valid until revoked). The key
 * itself is returned this once; only its hash is stored. Null when the tenant does not exist.
 */
export async function issueApiKey(
  db: Executor,
  params: { tenantId: string },
): Promise<{ key: ApiKeyInfo; apiKey: string } | null> {
  const apiKey = generateApiKey();
  // INSERT … SELECT from the tenant: an unknown tenant inserts nothing, in one statement.
  const [key] = await db
    .insert(apiKeys)
    .select(
      db
        .select({
          id: sql<string>`${newId()}::uuid`.as('id'),
          tenantId: tenants.id,
          keyHash: sql<string>`${hashApiKey(apiKey)}`.as('key_hash'),
          prefix: sql<string>`${apiKeyPrefix(apiKey)}`.as('prefix'),
          createdAt: sql<Date>`now()`.as('created_at'),
          revokedAt: sql<Date | null>`null::timestamptz`.as('revoked_at'),
        })
        .from(tenants)
        .where(eq(tenants.id, params.tenantId)),
    )
    .returning(infoColumns);
  return key ? { key, apiKey } : null;
}

/** A tenant's keys, oldest first, revoked ones included. */
export async function listApiKeys(
  db: Executor,
  params: { tenantId: string },
): Promise<ApiKeyInfo[]> {
  return db
    .select(infoColumns)
    .from(apiKeys)
    .where(eq(apiKeys.tenantId, params.tenantId))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

/**
 * Revokes one of a tenant's keys; the lookup that authenticates requests skips revoked keys,
 * so the next request with it is refused. Idempotent: revoking again keeps the first time.
 * Null when the tenant has no such key (unknown, or another tenant's).
 */
export async function revokeApiKey(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<ApiKeyInfo | null> {
  const [key] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(and(eq(apiKeys.id, params.id), eq(apiKeys.tenantId, params.tenantId)))
    .returning(infoColumns);
  return key ?? null;
}
