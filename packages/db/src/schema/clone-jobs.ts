import type { SpeechRequest, VoiceCloneParams } from '@voxline/runninghub';
import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { batches } from './batches.js';
import { cloneStatus, taskKind } from './enums.js';
import { tenants } from './tenants.js';
import { voices } from './voices.js';

/**
 * A voice_clone task's request exactly as it will be submitted (the contract's field names);
 * the worker only makes the voice id unique per submission. For the clone of a voxline voice
 * whose reference was uploaded as a file, `audio` is "" until the worker has uploaded it.
 */
export type VoiceCloneRequest = VoiceCloneParams;

/** A speech task's request; its voxline voice, if any, is the `voice_id` column. */
export type { SpeechRequest };

export type CloneRequest = VoiceCloneRequest | SpeechRequest;

/** Money in CNY: six decimals hold a one-character line (0.00019) exactly. */
const money = (name: string) => numeric(name, { precision: 14, scale: 6, mode: 'number' });

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
    // Rows from before voices are all voice_clone: the default keeps them readable.
    kind: taskKind('kind').notNull().default('voice_clone'),
    // speech: the voice the line is spoken with (null for a system voice); voice_clone: the
    // voice this task clones (null for a one-off clone line).
    voiceId: uuid('voice_id').references(() => voices.id, { onDelete: 'cascade' }),
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
    // The upstream account the task was submitted with: it is queried with that key, and its
    // slot is that account's, even if the tenant's key changes meanwhile.
    upstreamAccount: text('upstream_account'),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    // What this task should cost by the price list, and what upstream said it cost
    // (usage.consumeMoney, which may be absent).
    estimatedCost: money('estimated_cost').notNull().default(0),
    actualCost: money('actual_cost'),
    // SHA-256 of the canonical upstream request (kind, model, voice, text, settings): a line
    // with the same hash as a stored result of the tenant reuses its audio instead of paying.
    canonicalHash: text('canonical_hash'),
    // The line whose stored audio this one reused (it made no upstream call), and what the
    // upstream call would have cost by the price list.
    reusedFrom: uuid('reused_from'),
    savedCost: money('saved_cost'),
    // SHA-256 of the per-submission token in the webhookUrl sent upstream; the callback route
    // finds the line by it. Only the hash is kept: the token is the callback's only credential.
    callbackTokenHash: text('callback_token_hash'),
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
    // A tenant's lines not yet terminal, counted against TENANT_MAX_PENDING_LINES on every write.
    index('clone_jobs_tenant_active_idx')
      .on(t.tenantId)
      .where(sql`${t.status} in ('queued', 'submitting', 'running')`),
    // Reuse looks up the tenant's succeeded lines by request hash.
    index('clone_jobs_tenant_canonical_idx')
      .on(t.tenantId, t.canonicalHash)
      .where(sql`${t.canonicalHash} is not null and ${t.status} = 'succeeded'`),
    uniqueIndex('clone_jobs_callback_token_uq')
      .on(t.callbackTokenHash)
      .where(sql`${t.callbackTokenHash} is not null`),
    // Lines of a voice that are not terminal: woken when it is ready, refused a DELETE.
    index('clone_jobs_voice_active_idx')
      .on(t.voiceId)
      .where(sql`${t.voiceId} is not null and ${t.status} in ('queued', 'submitting', 'running')`),
    // The reconciler scans jobs that are not terminal, oldest update first.
    index('clone_jobs_active_idx')
      .on(t.updatedAt)
      .where(sql`${t.status} in ('queued', 'submitting', 'running')`),
  ],
);

export type CloneJob = typeof cloneJobs.$inferSelect;
export type NewCloneJob = typeof cloneJobs.$inferInsert;
