import type { ApiKeyRow } from './rows.js';

/** An API key as shown: never the key or its hash. */
export function apiKeyResource(key: ApiKeyRow) {
  return {
    id: key.id,
    tenant_id: key.tenantId,
    prefix: key.prefix,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}
