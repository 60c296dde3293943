import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const tenants = pgTable('tenants', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  // Signing needs the secret itself, so it is stored as issued (`whsec_…`), never logged.
  webhookSecret: text('webhook_secret').notNull(),
  // When the current secret was issued by a rotation; older secrets are retired_webhook_secrets.
  secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
  // The tenant's share of an upstream account's slots, against other tenants waiting on it.
  weight: integer('weight').notNull().default(1),
  // Per-tenant overrides of TENANT_REQUESTS_PER_MINUTE and TENANT_MAX_PENDING_LINES.
  requestsPerMinute: integer('requests_per_minute'),
  maxPendingLines: integer('max_pending_lines'),
  // The tenant's own RunningHub account (upstream_accounts.id), when it has one: its tasks then
  // run on that account's key and slots only. Null: the deployment's shared account.
  upstreamAccountId: text('upstream_account_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type Tenant = typeof tenants.$inferSelect;
