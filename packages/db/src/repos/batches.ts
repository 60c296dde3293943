import { and, count, eq, inArray, or, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type Batch, batches } from '../schema/batches.js';
import { cloneJobs } from '../schema/clone-jobs.js';
import { activeStatusSql, CLONE_STATUSES, type CloneStatus } from '../schema/enums.js';
import { voices } from '../schema/voices.js';
import type { VoiceCost } from './voices.js';

export type StatusCounts = Record<CloneStatus, number>;

export async function insertBatch(db: Executor, row: typeof batches.$inferInsert): Promise<Batch> {
  const [batch] = await db.insert(batches).values(row).returning();
  if (!batch) throw new Error('batch insert returned nothing');
  return batch;
}

export async function getBatch(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<Batch | null> {
  const [row] = await db
    .select()
    .from(batches)
    .where(and(eq(batches.id, params.id), eq(batches.tenantId, params.tenantId)));
  return row ?? null;
}

export async function findBatchByIdempotencyKey(
  db: Executor,
  params: { tenantId: string; idempotencyKey: string },
): Promise<Batch | null> {
  const [row] = await db
    .select()
    .from(batches)
    .where(
      and(eq(batches.tenantId, params.tenantId), eq(batches.idempotencyKey, params.idempotencyKey)),
    );
  return row ?? null;
}

export async function countBatchStatuses(
  db: Executor,
  params: { tenantId: string; batchId: string },
): Promise<StatusCounts> {
  const rows = await db
    .select({ status: cloneJobs.status, n: count() })
    .from(cloneJobs)
    .where(and(eq(cloneJobs.batchId, params.batchId), eq(cloneJobs.tenantId, params.tenantId)))
    .groupBy(cloneJobs.status);
  const counts = Object.fromEntries(CLONE_STATUSES.map((s) => [s, 0])) as StatusCounts;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

export interface BatchCost extends VoiceCost {
  /** Lines that reused stored audio (no upstream call, cost 0). */
  reused: number;
  /** What those lines would have cost by the price list. */
  saved: number;
}

/**
 * What a batch costs: its lines, plus the clone tasks of the voice its inline `voice` created
 * (`created_by_batch_id`). `actual` sums what upstream reported; null while nothing did.
 * `reused` and `saved` count the lines that reused stored audio and what that saved.
 */
export async function batchCost(
  db: Executor,
  params: { tenantId: string; batchId: string },
): Promise<BatchCost> {
  const [row] = await db
    .select({
      estimated: sql<string>`coalesce(sum(${cloneJobs.estimatedCost}), 0)`,
      actual: sql<string | null>`sum(${cloneJobs.actualCost})`,
      reused: sql<number>`(count(${cloneJobs.reusedFrom}) filter (where ${cloneJobs.batchId} = ${params.batchId}))::int`,
      saved: sql<string>`coalesce(sum(${cloneJobs.savedCost}) filter (where ${cloneJobs.batchId} = ${params.batchId}), 0)`,
    })
    .from(cloneJobs)
    .where(
      and(
        eq(cloneJobs.tenantId, params.tenantId),
        or(
          eq(cloneJobs.batchId, params.batchId),
          and(
            eq(cloneJobs.kind, 'voice_clone'),
            inArray(
              cloneJobs.voiceId,
              db
                .select({ id: voices.id })
                .from(voices)
                .where(
                  and(
                    eq(voices.tenantId, params.tenantId),
                    eq(voices.createdByBatchId, params.batchId),
                  ),
                ),
            ),
          ),
        ),
      ),
    );
  return {
    estimated: Number(row?.estimated ?? 0),
    actual: row?.actual === null || row?.actual === undefined ? null : Number(row.actual),
    reused: row?.reused ?? 0,
    saved: Number(row?.saved ?? 0),
  };
}

/** Whether any line of the batch is still queued, submitting or running (an index-only probe). */
export async function batchHasActiveLines(
  db: Executor,
  params: { tenantId: string; batchId: string },
): Promise<boolean> {
  const [row] = await db
    .select({ id: cloneJobs.id })
    .from(cloneJobs)
    .where(
      and(
        eq(cloneJobs.batchId, params.batchId),
        eq(cloneJobs.tenantId, params.tenantId),
        activeStatusSql(cloneJobs.status),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/**
 * Marks a running batch finished once none of its lines is active; `canceled` when a cancel
 * asked for it, else `completed`. Conditional, so exactly one caller wins and gets the row.
 * Callers run it after committing a line's terminal transition: two lines finishing at once
 * then both see each other's commit, and at least one of them completes the batch.
 */
export async function completeBatchIfDone(
  db: Executor,
  params: { tenantId: string; batchId: string; status?: 'completed' | 'canceled' },
): Promise<Batch | null> {
  const [row] = await db
    .update(batches)
    .set({ status: params.status ?? 'completed', completedAt: sql`now()` })
    .where(
      and(
        eq(batches.id, params.batchId),
        eq(batches.tenantId, params.tenantId),
        eq(batches.status, 'running'),
        sql`not exists (select 1 from ${cloneJobs} where ${cloneJobs.batchId} = ${params.batchId}
            and ${activeStatusSql(cloneJobs.status)})`,
      ),
    )
    .returning();
  return row ?? null;
}

/** Running batches with no active line left, every tenant's: the reconciler finishes them. */
export async function findFinishedRunningBatches(
  db: Executor,
  params: { limit: number },
): Promise<Array<{ tenantId: string; batchId: string }>> {
  return db
    .select({ tenantId: batches.tenantId, batchId: batches.id })
    .from(batches)
    .where(
      and(
        eq(batches.status, 'running'),
        sql`not exists (select 1 from ${cloneJobs} where ${cloneJobs.batchId} = ${batches.id}
            and ${activeStatusSql(cloneJobs.status)})`,
      ),
    )
    .limit(params.limit);
}
