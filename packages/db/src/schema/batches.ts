import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { batchStatus } from './enums.js';
import { tenants } from './tenants.js';

export const batches = pgTable(
  'batches',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    status: batchStatus('status').notNull().default('running'),
    total: integer('total').notNull(),
    // The batch's voice as given: clone fields, or voice_id / system_voice with model and speech.
    voice: jsonb('voice').$type<Record<string, unknown>>().notNull(),
    // The voxline voice the batch speaks with by default (given, or made from its inline voice).
    voiceId: uuid('voice_id'),
    // The caller's budget in CNY: refused with 422 when the estimate is over it.
    maxCost: numeric('max_cost', { precision: 14, scale: 6, mode: 'number' }),
    webhookUrl: text('webhook_url'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    idempotencyKey: text('idempotency_key'),
    // SHA-256 of the canonical request: the same Idempotency-Key with another body is a 409.
    requestHash: text('request_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('batches_tenant_idempotency_key_uq')
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index('batches_tenant_created_idx').on(t.tenantId, t.createdAt),
    // The reconciler looks for running batches whose lines are all terminal.
    index('batches_running_idx').on(t.createdAt).where(sql`${t.status} = 'running'`),
  ],
);

export type Batch = typeof batches.$inferSelect;
