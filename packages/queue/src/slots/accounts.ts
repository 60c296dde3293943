import { DEFAULT_ACCOUNT } from './keys.js';

/**
 * The upstream account a tenant's tasks run on: the deployment's shared key, or the tenant's
 * own account (upstream_accounts) when it has one. Slot sets, upstream clients and voices are
 * keyed by this name.
 */
export function accountOf(tenant: { upstreamAccountId: string | null }): string {
  return tenant.upstreamAccountId ?? DEFAULT_ACCOUNT;
}
