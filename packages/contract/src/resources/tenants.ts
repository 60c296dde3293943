import type { TenantRow } from './rows.js';

/** A tenant as operators see it: its settings and which account it runs on, never a key. */
export function tenantResource(tenant: TenantRow, ownAccount: { maxInFlight: number } | null) {
  return {
    id: tenant.id,
    object: 'tenant' as const,
    name: tenant.name,
    weight: tenant.weight,
    requests_per_minute: tenant.requestsPerMinute,
    max_pending_lines: tenant.maxPendingLines,
    upstream: ownAccount
      ? { account: 'own' as const, max_in_flight: ownAccount.maxInFlight }
      : { account: 'shared' as const, max_in_flight: null },
    created_at: tenant.createdAt.toISOString(),
  };
}
