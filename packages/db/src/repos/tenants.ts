import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { newId } from '../ids.js';
import { apiKeys } from '../schema/api-keys.js';
import { type Tenant, tenants } from '../schema/tenants.js';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `vxl_${randomBytes(32).toString('base64url')}`;
}

export function generateWebhookSecret(): string {
  // Standard Webhooks: `whsec_` + base64 of 24-64 random bytes.
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface CreatedTenant {
  tenant: Tenant;
  /** Shown once; only its hash is stored. */
  apiKey: string;
}

export async function createTenant(db: Executor, params: { name: string }): Promise<CreatedTenant> {
  const apiKey = generateApiKey();
  return db.transaction(async (tx) => {
    const [tenant] = await tx
      .insert(tenants)
      .values({ id: newId(), name: params.name, webhookSecret: generateWebhookSecret() })
      .returning();
    if (!tenant) throw new Error('tenant insert returned nothing');
    await tx.insert(apiKeys).values({
      id: newId(),
      tenantId: tenant.id,
      keyHash: hashApiKey(apiKey),
      prefix: apiKey.slice(0, 12),
    });
    return { tenant, apiKey };
  });
}

/** The tenant owning a live API key, or null. */
export async function findTenantByApiKey(
  db: Executor,
  params: { apiKey: string },
): Promise<Tenant | null> {
  const rows = await db
    .select({ tenant: tenants })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(apiKeys.keyHash, hashApiKey(params.apiKey)), isNull(apiKeys.revokedAt)))
    .limit(1);
  return rows[0]?.tenant ?? null;
}

export async function getTenant(db: Executor, params: { id: string }): Promise<Tenant | null> {
  const [row] = await db.select().from(tenants).where(eq(tenants.id, params.id));
  return row ?? null;
}

/** Issues a new webhook secret; the old one keeps signing during the grace period. */
export async function rotateWebhookSecret(
  db: Executor,
  params: { id: string },
): Promise<Tenant | null> {
  // One statement: two concurrent rotations cannot lose the secret between them.
  const [row] = await db
    .update(tenants)
    .set({
      webhookSecret: generateWebhookSecret(),
      previousWebhookSecret: sql`${tenants.webhookSecret}`,
      secretRotatedAt: new Date(),
    })
    .where(eq(tenants.id, params.id))
    .returning();
  return row ?? null;
}
