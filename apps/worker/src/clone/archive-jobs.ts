import { type CloneJob, getAudioResult } from '@voxline/db';
import { enqueue, jobIds } from '@voxline/queue';
import type { WorkerContext } from '../context.js';
import { ensurePollJob } from './poll-jobs.js';

type JobRef = Pick<CloneJob, 'id' | 'tenantId' | 'run' | 'priority'>;

/** Queues the archive step of a job's run (its one id per run). */
export async function enqueueArchive(
  ctx: WorkerContext,
  job: JobRef,
  delayMs?: number,
): Promise<void> {
  await enqueue(ctx.queues, 'cloneArchive', [
    {
      jobId: jobIds.archive(job.id, job.run),
      data: { cloneJobId: job.id, tenantId: job.tenantId, run: job.run },
      options: { priority: job.priority, ...(delayMs !== undefined ? { delay: delayMs } : {}) },
    },
  ]);
}

/** True while the run's archive job is waiting, delayed or running. */
export async function archiveJobLive(ctx: WorkerContext, job: JobRef): Promise<boolean> {
  const state = await ctx.queues.cloneArchive.getJobState(jobIds.archive(job.id, job.run));
  return state !== 'unknown' && state !== 'completed' && state !== 'failed';
}

/**
 * Makes sure a running job has the step it is waiting for (after a crash or a lost Redis key):
 * the archive step once its task's result is stored, the poll job before. A result of an
 * earlier task of the job (its link died unstored, and the line was submitted again) is not
 * this task's: the poll job is.
 */
export async function ensureRunningStep(ctx: WorkerContext, job: CloneJob): Promise<void> {
  const result = await getAudioResult(ctx.db, { tenantId: job.tenantId, cloneJobId: job.id });
  if (!result || result.upstreamTaskId !== job.upstreamTaskId) {
    await ensurePollJob(ctx, job);
    return;
  }
  if (await archiveJobLive(ctx, job)) return;
  // A finished job keeps the run's id while BullMQ keeps it: a plain add would be a no-op.
  await ctx.queues.cloneArchive.remove(jobIds.archive(job.id, job.run));
  await enqueueArchive(ctx, job);
}
