import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { cloneJobEvents } from '../schema/clone-job-events.js';
import { type CloneJob, cloneJobs, type NewCloneJob } from '../schema/clone-jobs.js';
import { ACTIVE_STATUSES, type CloneStatus } from '../schema/enums.js';

/** Reads for the producer API (a job with its audio, a batch's lines) and its bulk cancel. */

export interface CloneJobWithAudio {
  job: CloneJob;
  audio: AudioResult | null;
}

/** A tenant's clone job and its audio result (if it succeeded), in one query. */
export async function getCloneJobWithAudio(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<CloneJobWithAudio | null> {
  const [row] = await db
    .select({ job: cloneJobs, audio: audioResults })
    .from(cloneJobs)
    .leftJoin(audioResults, eq(audioResults.cloneJobId, cloneJobs.id))
    .where(and(eq(cloneJobs.id, params.id), eq(cloneJobs.tenantId, params.tenantId)));
  return row ?? null;
}

/**
 * One page of a batch's lines in line order, after `afterLineIndex` (exclusive), optionally of
 * one status. Walks the (batch_id, line_index) index, so a deep page costs what the first does.
 */
export async function listBatchCloneJobs(
  db: Executor,
  params: {
    tenantId: string;
    batchId: string;
    status?: CloneStatus;
    afterLineIndex?: number;
    limit: number;
  },
): Promise<CloneJobWithAudio[]> {
  return db
    .select({ job: cloneJobs, audio: audioResults })
    .from(cloneJobs)
    .leftJoin(audioResults, eq(audioResults.cloneJobId, cloneJobs.id))
    .where(
      and(
        eq(cloneJobs.batchId, params.batchId),
        eq(cloneJobs.tenantId, params.tenantId),
        params.status ? eq(cloneJobs.status, params.status) : undefined,
        params.afterLineIndex !== undefined
          ? gt(cloneJobs.lineIndex, params.afterLineIndex)
          : undefined,
      ),
    )
    .orderBy(asc(cloneJobs.lineIndex))
    .limit(params.limit);
}

/**
 * Cancels up to `limit` active lines of a batch, set-based: three statements whatever the
 * count (lock, update, append the transition events), instead of one transition per line.
 * Rows are locked in line order first, so a worker finishing a line at the same moment either
 * commits before (the line is terminal and skipped) or waits and then finds it canceled.
 * Returns the canceled rows; call repeatedly until it returns fewer than `limit`.
 */
export async function cancelActiveBatchJobs(
  db: Executor,
  params: {
    tenantId: string;
    batchId: string;
    limit: number;
    detail?: Record<string, unknown>;
  },
): Promise<CloneJob[]> {
  return db.transaction(async (tx) => {
    const targets = await tx
      .select({ id: cloneJobs.id, status: cloneJobs.status })
      .from(cloneJobs)
      .where(
        and(
          eq(cloneJobs.batchId, params.batchId),
          eq(cloneJobs.tenantId, params.tenantId),
          inArray(cloneJobs.status, [...ACTIVE_STATUSES]),
        ),
      )
      .orderBy(asc(cloneJobs.lineIndex))
      .limit(params.limit)
      .for('update');
    if (targets.length === 0) return [];
    const rows = await tx
      .update(cloneJobs)
      .set({ status: 'canceled', updatedAt: sql`now()`, completedAt: sql`now()` })
      .where(
        and(
          inArray(
            cloneJobs.id,
            targets.map((t) => t.id),
          ),
          inArray(cloneJobs.status, [...ACTIVE_STATUSES]),
        ),
      )
      .returning();
    const from = new Map(targets.map((t) => [t.id, t.status]));
    if (rows.length > 0) {
      await tx.insert(cloneJobEvents).values(
        rows.map((row) => ({
          cloneJobId: row.id,
          kind: 'transition',
          fromStatus: from.get(row.id) ?? null,
          toStatus: 'canceled' as const,
          detail: params.detail ?? null,
        })),
      );
    }
    return rows;
  });
}

/**
 * `insertCloneJobs` for large batches: the same rows and `queued` events, but each column is
 * sent as one array and expanded by `unnest`, so 10,000 lines are two statements with a dozen
 * parameters instead of 120,000 bound values (whose query building dominated the time).
 */
export async function insertCloneJobsBulk(db: Executor, rows: NewCloneJob[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(pick: (row: NewCloneJob) => T | undefined) =>
    sql.param(rows.map((row) => pick(row) ?? null));
  const json = (value: unknown) => (value == null ? null : JSON.stringify(value));
  const ids = column((r) => r.id);
  await db.execute(sql`
    insert into ${cloneJobs} (id, tenant_id, batch_id, line_index, ref, priority, request,
                              webhook_url, metadata, idempotency_key, request_hash)
    select id, tenant_id, batch_id, line_index, ref, priority, request, webhook_url, metadata,
           idempotency_key, request_hash
      from unnest(${ids}::uuid[], ${column((r) => r.tenantId)}::uuid[],
                  ${column((r) => r.batchId)}::uuid[], ${column((r) => r.lineIndex)}::int[],
                  ${column((r) => r.ref)}::text[], ${column((r) => r.priority)}::smallint[],
                  ${column((r) => json(r.request))}::jsonb[], ${column((r) => r.webhookUrl)}::text[],
                  ${column((r) => json(r.metadata))}::jsonb[],
                  ${column((r) => r.idempotencyKey)}::text[], ${column((r) => r.requestHash)}::text[])
        as t(id, tenant_id, batch_id, line_index, ref, priority, request, webhook_url, metadata,
             idempotency_key, request_hash)`);
  await db.execute(sql`
    insert into ${cloneJobEvents} (clone_job_id, kind, from_status, to_status)
    select id, 'transition', null, 'queued'::clone_status from unnest(${ids}::uuid[]) as t(id)`);
}
