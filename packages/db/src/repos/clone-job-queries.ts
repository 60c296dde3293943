import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { batches } from '../schema/batches.js';
import { type CloneJob, cloneJobs } from '../schema/clone-jobs.js';
import { ACTIVE_STATUSES, activeStatusSql, type CloneStatus } from '../schema/enums.js';
import { tenants } from '../schema/tenants.js';
import { voices } from '../schema/voices.js';
import { transitionCloneJobs } from './transitions.js';

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
 * Cancels up to `limit` active lines of a batch in one statement, instead of one transition
 * per line. Rows are locked in line order, so a worker finishing a line at the same moment
 * either commits before (the line is terminal and skipped) or waits and then finds it
 * canceled. Returns the canceled rows; call repeatedly until it returns fewer than `limit`.
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
  return transitionCloneJobs(db, {
    tenantId: params.tenantId,
    target: { batchId: params.batchId, limit: params.limit },
    from: ACTIVE_STATUSES,
    to: 'canceled',
    ...(params.detail ? { detail: params.detail } : {}),
  });
}

/** A tenant's lines not yet terminal (the partial index `clone_jobs_tenant_active_idx`). */
export async function countActiveLines(
  db: Executor,
  params: { tenantId: string },
): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(cloneJobs)
    .where(and(eq(cloneJobs.tenantId, params.tenantId), activeStatusSql(cloneJobs.status)));
  return row?.count ?? 0;
}

/** What the fair scheduler needs about a line besides its row: its tenant's share and order. */
export interface SlotScheduling {
  /** tenants.weight. */
  weight: number;
  /** tenants.upstream_account_id: the tenant's own account, null for the shared one. */
  tenantAccount: string | null;
  /** The account of a speech line's voxline voice (voices.account), else null. */
  voiceAccount: string | null;
  /** The line's batch's creation (lines of a batch go in batch then line order), else null. */
  batchCreatedAt: Date | null;
}

const schedulingColumns = {
  weight: tenants.weight,
  tenantAccount: tenants.upstreamAccountId,
  voiceAccount: sql<
    string | null
  >`case when ${cloneJobs.kind} = 'speech' then ${voices.account} end`,
  batchCreatedAt: batches.createdAt,
};

/** The scheduling facts of one line (the submit step), in one query. */
export async function getSlotScheduling(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<SlotScheduling | null> {
  const [row] = await db
    .select(schedulingColumns)
    .from(cloneJobs)
    .innerJoin(tenants, eq(tenants.id, cloneJobs.tenantId))
    .leftJoin(voices, eq(voices.id, cloneJobs.voiceId))
    .leftJoin(batches, eq(batches.id, cloneJobs.batchId))
    .where(and(eq(cloneJobs.tenantId, params.tenantId), eq(cloneJobs.id, params.id)));
  return row ?? null;
}

/**
 * Queued lines older than `before` with their scheduling facts, for the reconciler to rebuild
 * the fair waiting lists from, page by page in id order.
 */
export async function listQueuedForSlots(
  db: Executor,
  params: { before: Date; afterId: string; limit: number },
): Promise<Array<{ job: CloneJob } & SlotScheduling>> {
  return db
    .select({ job: cloneJobs, ...schedulingColumns })
    .from(cloneJobs)
    .innerJoin(tenants, eq(tenants.id, cloneJobs.tenantId))
    .leftJoin(voices, eq(voices.id, cloneJobs.voiceId))
    .leftJoin(batches, eq(batches.id, cloneJobs.batchId))
    .where(
      and(
        eq(cloneJobs.status, 'queued'),
        lt(cloneJobs.updatedAt, params.before),
        // A speech line whose voice is still cloning waits for the voice, not for a slot.
        sql`(${cloneJobs.kind} <> 'speech' or ${voices.status} is distinct from 'cloning')`,
        gt(cloneJobs.id, params.afterId),
      ),
    )
    .orderBy(asc(cloneJobs.id))
    .limit(params.limit);
}
