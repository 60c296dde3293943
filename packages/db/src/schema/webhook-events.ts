import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * The outbox: one row per event, written in the transaction that changed the state it reports.
 * Its id is the `webhook-id` header, stable across every retry of every delivery.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    // The exact body that is signed and sent: {type, timestamp, data}.
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    cloneJobId: uuid('clone_job_id'),
    batchId: uuid('batch_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_events_tenant_created_idx').on(t.tenantId, t.createdAt)],
);

export type WebhookEvent = typeof webhookEvents.$inferSelect;
