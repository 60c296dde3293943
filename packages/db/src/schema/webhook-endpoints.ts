import { sql } from 'drizzle-orm';
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    // Event types wanted, e.g. {clone.succeeded,batch.completed}.
    eventTypes: text('event_types').array().notNull(),
    description: text('description'),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    disabledReason: text('disabled_reason'),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    // Start of the current run of failures; cleared by a success. Days of it disable the endpoint.
    failingSince: timestamp('failing_since', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('webhook_endpoints_tenant_idx').on(t.tenantId),
    // A URL is registered once per tenant: twice would deliver every event to it twice.
    uniqueIndex('webhook_endpoints_tenant_url_uq')
      .on(t.tenantId, t.url)
      .where(sql`${t.deletedAt} is null`),
  ],
);

export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;
