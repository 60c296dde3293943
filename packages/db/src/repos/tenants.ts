import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, lte } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { newId } from '../ids.js';
import { apiKeys } from '../schema/api-keys.js';
import {
  type RetiredWebhookSecret,
  retiredWebhookSecrets,
} from '../schema/retired-webhook-secrets.js';
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

/** What an operator sets on a tenant; `null` puts a limit back to the deployment's default. */
export interface TenantSettings {
  name?: string;
  weight?: number;
  requestsPerMinute?: number | null;
  maxPendingLines?: number | null;
}

export async function createTenant(
  db: Executor,
  params: { name: string } & Omit<TenantSettings, 'name'>,
): Promise<CreatedTenant> {
  const apiKey = generateApiKey();
  return db.transaction(async (tx) => {
    const [tenant] = await tx
      .insert(tenants)
      .values({
        id: newId(),
        name: params.name,
        webhookSecret: generateWebhookSecret(),
        ...(params.weight !== undefined ? { weight: params.weight } : {}),
        requestsPerMinute: params.requestsPerMinute ?? null,
        maxPendingLines: params.maxPendingLines ?? null,
      })
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

/** Changes the given settings of a tenant; null when there is no such tenant. */
export async function updateTenantSettings(
  db: Executor,
  params: { id: string; set: TenantSettings },
): Promise<Tenant | null> {
  const set = Object.fromEntries(
    Object.entries(params.set).filter(([, value]) => value !== undefined),
  ) as TenantSettings;
  if (Object.keys(set).length === 0) return getTenant(db, { id: params.id });
  const [tenant] = await db.update(tenants).set(set).where(eq(tenants.id, params.id)).returning();
  return tenant ?? null;
}

export interface RotatedSecret {
  tenant: Tenant;
  /** Until then the secret just replaced keeps signing beside the new one. */
  previousExpiresAt: Date;
}

/**
 * Issues a new webhook secret. The one it replaces is retired with its own expiry, `graceMs`
 * from now, and keeps signing until then, as do earlier ones still within theirs.
 */
export async function rotateWebhookSecret(
  db: Executor,
  params: { id: string; graceMs: number },
): Promise<RotatedSecret | null> {
  return db.transaction(async (tx) => {
    // The row lock makes concurrent rotations take turns: each retires the secret the one
    // before it issued, so none is lost.
    const [current] = await tx
      .select({ secret: tenants.webhookSecret })
      .from(tenants)
      .where(eq(tenants.id, params.id))
      .for('no key update');
    if (!current) return null;
    const now = new Date();
    const previousExpiresAt = new Date(now.getTime() + params.graceMs);
    // Expired secrets sign nothing; this keeps the table as small as the grace period.
    await tx
      .delete(retiredWebhookSecrets)
      .where(
        and(
          eq(retiredWebhookSecrets.tenantId, params.id),
          lte(retiredWebhookSecrets.expiresAt, now),
        ),
      );
    await tx.insert(retiredWebhookSecrets).values({
      id: newId(),
      tenantId: params.id,
      secret: current.secret,
      retiredAt: now,
      expiresAt: previousExpiresAt,
    });
    const [tenant] = await tx
      .update(tenants)
      .set({ webhookSecret: generateWebhookSecret(), secretRotatedAt: now })
      .where(eq(tenants.id, params.id))
      .returning();
    if (!tenant) throw new Error('tenant update returned nothing');
    return { tenant, previousExpiresAt };
  });
}

/** The secrets a tenant's rotations retired, newest first, expired or not. */
export async function listRetiredWebhookSecrets(
  db: Executor,
  params: { tenantId: string },
): Promise<RetiredWebhookSecret[]> {
  return db
    .select()
    .from(retiredWebhookSecrets)
    .where(eq(retiredWebhookSecrets.tenantId, params.tenantId))
    .orderBy(desc(retiredWebhookSecrets.retiredAt));
}
