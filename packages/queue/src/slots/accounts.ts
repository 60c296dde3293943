import { DEFAULT_ACCOUNT } from './keys.js';

/**
 * The upstream account a tenant's tasks run on: the deployment's shared key, or the tenant's
 * own key when it has one (its sealed key is stored on the tenant). Slot sets, upstream
 * clients and voices are keyed by this name.
 */
export function accountOf(tenant: { id: string; upstreamApiKeySealed: string | null }): string {
  return tenant.upstreamApiKeySealed ? tenantAccount(tenant.id) : DEFAULT_ACCOUNT;
}

export function tenantAccount(tenantId: string): string {
  return `tenant-${tenantId}`;
}
