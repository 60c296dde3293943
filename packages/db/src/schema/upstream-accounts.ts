import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * A tenant's own RunningHub key. Each key given is a new account (its id names its slot set),
 * and a replaced or removed key is only retired: tasks it submitted are still queried with it,
 * since a task may not be readable with another key (contract, "Errors").
 */
export const upstreamAccounts = pgTable(
  'upstream_accounts',
  {
    // `tenant-<tenant id>-<8 hex of the key's SHA-256>`: the slot keys' account suffix.
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    // Sealed with TENANT_KEY_ENCRYPTION_KEY (AES-256-GCM, secret-box.ts); never returned or logged.
    apiKeySealed: text('api_key_sealed').notNull(),
    maxInFlight: integer('max_in_flight').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
  },
  (t) => [index('upstream_accounts_tenant_idx').on(t.tenantId)],
);

export type UpstreamAccount = typeof upstreamAccounts.$inferSelect;
