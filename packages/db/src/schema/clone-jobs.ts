import type { VoiceCloneParams } from '@voxline/runninghub';
import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  jsonb,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { batches } from './batches.js';
import { cloneStatus } from './enums.js';
import { tenants } from './tenants.js';

/**
 * The upstream request exactly as it will be submitted (the contract's field names); the
 * worker only makes the voice id unique per submission.
 */
export type CloneRequest = VoiceCloneParams;

export const cloneJobs = pgTable(
  'clone_jobs',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    batchId: uuid('batch_id').references(() => batches.id, { onDelete: 'cascade' }),
    // Position in the batch: the order lines were given, and the pagination key within it.
    lineIndex: integer('line_index'),
    ref: text('ref'),
    status: cloneStatus('status').notNull().default('queued'),
    // BullMQ priority: lower runs first. Single clones outrank batch lines.
    priority: smallint('priority').notNull(),
    request: jsonb('request').$type<CloneRequest>().notNull(),
    webhookUrl: text('webhook_url'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    // Upstream submissions made for this job across all runs (each may have cost money).
    attempts: integer('attempts').notNull().default(0),
    // 1 for the first run; a redrive starts run n+1 with a fresh retry budget.
    run: integer('run').notNull().default(1),
    upstreamTaskId: text('upstream_task_id'),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('clone_jobs_tenant_idempotency_key_uq')
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    // GET /v1/batches/:id/clones (?status=) pages by line index; counts group by status.
    index('clone_jobs_batch_line_idx').on(t.batchId, t.lineIndex),
    index('clone_jobs_batch_status_idx').on(t.batchId, t.status),
    // The reconciler scans jobs that are not terminal, oldest update first.
    index('clone_jobs_active_idx')
      .on(t.updatedAt)
      .where(sql`${t.status} in ('queued', 'submitting', 'running')`),
  ],
);

export type CloneJob = typeof cloneJobs.$inferSelect;
export type NewCloneJob = typeof cloneJobs.$inferInsert;
