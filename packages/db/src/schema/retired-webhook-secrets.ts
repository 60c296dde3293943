import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * Secrets a rotation replaced, each signing beside the current one (`tenants.webhook_secret`)
 * until its own `expires_at`: two rotations within a grace period keep both older secrets
 * alive, so no receiver still holding one of them loses a message.
 */
export const retiredWebhookSecrets = pgTable(
  'retired_webhook_secrets',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    // As issued (`whsec_…`): signing needs the secret itself. Never logged.
    secret: text('secret').notNull(),
    retiredAt: timestamp('retired_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('retired_webhook_secrets_tenant_idx').on(t.tenantId, t.expiresAt)],
);

export type RetiredWebhookSecret = typeof retiredWebhookSecrets.$inferSelect;
