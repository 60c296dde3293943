import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const tenants = pgTable('tenants', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  // Signing needs the secret itself, so it is stored as issued (`whsec_…`), never logged.
  webhookSecret: text('webhook_secret').notNull(),
  // When the current secret was issued by a rotation; older secrets are retired_webhook_secrets.
  secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type Tenant = typeof tenants.$inferSelect;
