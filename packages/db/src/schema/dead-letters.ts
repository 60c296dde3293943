import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { batches } from './batches.js';
import { cloneJobs } from './clone-jobs.js';
import { tenants } from './tenants.js';

/** A clone job that failed for good, with what is needed to judge and redrive it. */
export const deadLetters = pgTable(
  'dead_letters',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    cloneJobId: uuid('clone_job_id')
      .notNull()
      .references(() => cloneJobs.id, { onDelete: 'cascade' }),
    batchId: uuid('batch_id').references(() => batches.id, { onDelete: 'cascade' }),
    sourceQueue: text('source_queue').notNull(),
    bullJobId: text('bull_job_id').notNull(),
    run: integer('run').notNull(),
    attempts: integer('attempts').notNull(),
    errorCode: text('error_code').notNull(),
    errorMessage: text('error_message').notNull(),
    lastResponse: jsonb('last_response'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    redrivenAt: timestamp('redriven_at', { withTimezone: true }),
  },
  (t) => [
    index('dead_letters_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('dead_letters_tenant_code_idx').on(t.tenantId, t.errorCode),
    index('dead_letters_batch_idx').on(t.batchId),
    index('dead_letters_job_pending_idx').on(t.cloneJobId).where(sql`${t.redrivenAt} is null`),
  ],
);

export type DeadLetter = typeof deadLetters.$inferSelect;
