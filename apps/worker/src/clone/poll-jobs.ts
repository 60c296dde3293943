import type { CloneJob } from '@voxline/db';
import { enqueue, jobIds } from '@voxline/queue';
import type { WorkerContext } from '../context.js';

/** Queues the poll job of a job's run for an upstream task (its one id per run). */
export async function enqueuePoll(
  ctx: WorkerContext,
  job: Pick<CloneJob, 'id' | 'tenantId' | 'run' | 'priority'>,
  task: { taskId: string; submittedAt: number },
  delayMs?: number,
): Promise<void> {
  await enqueue(ctx.queues, 'clonePoll', [
    {
      jobId: jobIds.poll(job.id, job.run),
      data: { cloneJobId: job.id, tenantId: job.tenantId, run: job.run, ...task },
      options: { priority: job.priority, ...(delayMs !== undefined ? { delay: delayMs } : {}) },
    },
  ]);
}

/** Makes sure a running job has its poll job (after a crash or a lost Redis key). */
export async function ensurePollJob(ctx: WorkerContext, job: CloneJob): Promise<void> {
  if (!job.upstreamTaskId) return;
  const id = jobIds.poll(job.id, job.run);
  const state = await ctx.queues.clonePoll.getJobState(id);
  if (state === 'completed' || state === 'failed') await ctx.queues.clonePoll.remove(id);
  else if (state !== 'unknown') return;
  await enqueuePoll(ctx, job, {
    taskId: job.upstreamTaskId,
    submittedAt: (job.submittedAt ?? job.updatedAt).getTime(),
  });
}
