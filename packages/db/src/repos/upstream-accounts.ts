import { createHash } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type Tenant, tenants } from '../schema/tenants.js';
import { type UpstreamAccount, upstreamAccounts } from '../schema/upstream-accounts.js';
import { openSecret, sealSecret } from '../secret-box.js';

/**
 * The id of the account a tenant's key makes: the tenant and a fingerprint of the key, so a new
 * key is a new account (with its own slots) while tasks of the old one drain on theirs, and the
 * same key given again is the same account.
 */
export function tenantAccountId(tenantId: string, apiKey: string): string {
  const fingerprint = createHash('sha256').update(apiKey).digest('hex').slice(0, 8);
  return `tenant-${tenantId}-${fingerprint}`;
}

/**
 * Gives a tenant its own RunningHub key (`null`: back to the shared account), in the caller's
 * transaction. The account the tenant used until now is retired, not deleted: its tasks in
 * flight are still queried with its key.
 */
export async function setTenantUpstreamAccount(
  tx: Executor,
  params: {
    tenantId: string;
    upstream: { apiKey: string; maxInFlight: number } | null;
    encryptionKey: Buffer | undefined;
  },
): Promise<Tenant | null> {
  const { tenantId, upstream } = params;
  let accountId: string | null = null;
  if (upstream) {
    if (!params.encryptionKey) throw new Error('TENANT_KEY_ENCRYPTION_KEY is not configured');
    accountId = tenantAccountId(tenantId, upstream.apiKey);
    await tx
      .insert(upstreamAccounts)
      .values({
        id: accountId,
        tenantId,
        apiKeySealed: sealSecret(upstream.apiKey, params.encryptionKey),
        maxInFlight: upstream.maxInFlight,
      })
      .onConflictDoUpdate({
        target: upstreamAccounts.id,
        set: { maxInFlight: upstream.maxInFlight, retiredAt: null },
      });
  }
  await tx
    .update(upstreamAccounts)
    .set({ retiredAt: sql`now()` })
    .where(
      and(
        eq(upstreamAccounts.tenantId, tenantId),
        isNull(upstreamAccounts.retiredAt),
        accountId === null ? undefined : sql`${upstreamAccounts.id} <> ${accountId}`,
      ),
    );
  const [tenant] = await tx
    .update(tenants)
    .set({ upstreamAccountId: accountId })
    .where(eq(tenants.id, tenantId))
    .returning();
  return tenant ?? null;
}

export async function getUpstreamAccount(
  db: Executor,
  params: { id: string },
): Promise<UpstreamAccount | null> {
  const [row] = await db.select().from(upstreamAccounts).where(eq(upstreamAccounts.id, params.id));
  return row ?? null;
}

/** The key of an account, opened for the one client that uses it. Never log the result. */
export function openAccountKey(account: UpstreamAccount, encryptionKey: Buffer): string {
  return openSecret(account.apiKeySealed, encryptionKey);
}

/** Changes the limit of a tenant's current own account; null when it has none. */
export async function setAccountMaxInFlight(
  db: Executor,
  params: { tenantId: string; maxInFlight: number },
): Promise<UpstreamAccount | null> {
  const [row] = await db
    .update(upstreamAccounts)
    .set({ maxInFlight: params.maxInFlight })
    .where(
      and(
        eq(upstreamAccounts.tenantId, params.tenantId),
        isNull(upstreamAccounts.retiredAt),
        sql`${upstreamAccounts.id} = (select ${tenants.upstreamAccountId} from ${tenants} where ${tenants.id} = ${params.tenantId})`,
      ),
    )
    .returning();
  return row ?? null;
}
