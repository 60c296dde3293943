import { and, asc, eq, gt, gte, inArray, isNull, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type Batch, batches } from '../schema/batches.js';
import { type CloneJob, cloneJobs } from '../schema/clone-jobs.js';
import { type DeadLetter, deadLetters } from '../schema/dead-letters.js';
import { transitionCloneJobs } from './transitions.js';

/** Listing and redrive of a tenant's dead letters (the producer API's view of them). */

export interface DeadLetterFilter {
  tenantId: string;
  batchId?: string;
  errorCode?: string;
  since?: Date;
  /** Redriven dead letters are history; they are left out unless asked for. */
  includeRedriven?: boolean;
}

function filterConditions(params: DeadLetterFilter): Array<SQL | undefined> {
  return [
    eq(deadLetters.tenantId, params.tenantId),
    params.batchId ? eq(deadLetters.batchId, params.batchId) : undefined,
    params.errorCode ? eq(deadLetters.errorCode, params.errorCode) : undefined,
    params.since ? gte(deadLetters.createdAt, params.since) : undefined,
    params.includeRedriven ? undefined : isNull(deadLetters.redrivenAt),
  ];
}

/** One page in id order (uuid v7: creation order), after `afterId` (exclusive). */
export async function listDeadLetters(
  db: Executor,
  params: DeadLetterFilter & { afterId?: string; limit: number },
): Promise<DeadLetter[]> {
  return db
    .select()
    .from(deadLetters)
    .where(
      and(
        ...filterConditions(params),
        params.afterId ? gt(deadLetters.id, params.afterId) : undefined,
      ),
    )
    .orderBy(asc(deadLetters.id))
    .limit(params.limit);
}

export interface RedriveSelection {
  tenantId: string;
  /** Dead-letter ids or clone job ids (both are uuids; either identifies the dead letter). */
  ids?: string[];
  batchId?: string;
  errorCode?: string;
}

export interface RedriveChunk {
  /** The last dead letter looked at: the next chunk starts after it. Null when none was left. */
  lastId: string | null;
  /** Dead letters examined in this chunk (redriven or not). */
  scanned: number;
  redriven: Array<{ deadLetterId: string; job: CloneJob }>;
  /** Batches that had completed and run again because a line of theirs was redriven. */
  reopenedBatches: Batch[];
}

/**
 * Redrives up to `limit` pending dead letters matching the selection, in one transaction:
 * each one whose clone job is still `failed` moves it back to `queued` as a new run (run + 1,
 * upstream task and error cleared, attempts kept: they count money already spent), appends the
 * transition with `{ redrive: true, deadLetterId }`, and stamps the dead letter `redriven_at`.
 * A completed batch that gets a line back runs again, so it completes (and notifies) again.
 * Dead letters whose job is no longer `failed` are skipped and left pending. Nothing is deleted:
 * the old dead letter and every event stay as history.
 *
 * The caller enqueues the returned jobs after commit, and calls again with `afterId = lastId`
 * until `lastId` is null.
 */
export async function redriveDeadLetters(
  db: Executor,
  params: RedriveSelection & { afterId?: string; limit: number },
): Promise<RedriveChunk> {
  return db.transaction(async (tx) => {
    const found = await tx
      .select({ letter: deadLetters, run: cloneJobs.run })
      .from(deadLetters)
      .innerJoin(cloneJobs, eq(cloneJobs.id, deadLetters.cloneJobId))
      .where(
        and(
          eq(deadLetters.tenantId, params.tenantId),
          isNull(deadLetters.redrivenAt),
          params.ids
            ? or(inArray(deadLetters.id, params.ids), inArray(deadLetters.cloneJobId, params.ids))
            : undefined,
          params.batchId ? eq(deadLetters.batchId, params.batchId) : undefined,
          params.errorCode ? eq(deadLetters.errorCode, params.errorCode) : undefined,
          params.afterId ? gt(deadLetters.id, params.afterId) : undefined,
        ),
      )
      .orderBy(asc(deadLetters.id))
      .limit(params.limit)
      .for('update', { of: deadLetters });
    const letters = found.map((f) => f.letter);
    const lastId = letters.at(-1)?.id ?? null;
    if (letters.length === 0) return { lastId, scanned: 0, redriven: [], reopenedBatches: [] };

    // A job could have more than one pending dead letter (an old one never redriven): the
    // latest one describes the failure being redriven, and all of them are settled by it.
    const latestByJob = new Map<string, DeadLetter>();
    const detailById = new Map<string, Record<string, unknown>>();
    for (const { letter, run } of found) {
      latestByJob.set(letter.cloneJobId, letter);
      // The run read here is the one moved from: the transition only moves a job still failed.
      detailById.set(letter.cloneJobId, { deadLetterId: letter.id, run: run + 1 });
    }

    const jobs = await transitionCloneJobs(tx, {
      tenantId: params.tenantId,
      target: { ids: [...latestByJob.keys()] },
      // A job that is no longer failed is left alone.
      from: ['failed'],
      to: 'queued',
      set: {
        run: sql`${cloneJobs.run} + 1`,
        errorCode: null,
        errorMessage: null,
        upstreamTaskId: null,
        submittedAt: null,
        completedAt: null,
      },
      detail: { redrive: true },
      detailById,
    });
    if (jobs.length === 0)
      return { lastId, scanned: letters.length, redriven: [], reopenedBatches: [] };

    const redriven = jobs.map((job) => {
      const letter = latestByJob.get(job.id);
      if (!letter) throw new Error(`redriven job ${job.id} has no dead letter`);
      return { deadLetterId: letter.id, job };
    });
    const redrivenJobIds = new Set(jobs.map((j) => j.id));
    await tx
      .update(deadLetters)
      .set({ redrivenAt: sql`now()` })
      .where(
        and(
          inArray(
            deadLetters.id,
            letters.filter((l) => redrivenJobIds.has(l.cloneJobId)).map((l) => l.id),
          ),
          eq(deadLetters.tenantId, params.tenantId),
        ),
      );

    const batchIds = [...new Set(jobs.map((j) => j.batchId).filter((id): id is string => !!id))];
    const reopenedBatches =
      batchIds.length === 0
        ? []
        : await tx
            .update(batches)
            .set({ status: 'running', completedAt: null })
            .where(
              and(
                inArray(batches.id, batchIds),
                eq(batches.tenantId, params.tenantId),
                eq(batches.status, 'completed'),
              ),
            )
            .returning();
    return { lastId, scanned: letters.length, redriven, reopenedBatches };
  });
}
