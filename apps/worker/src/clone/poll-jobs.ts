import { type CloneJob, listCloneJobEvents } from '@voxline/db';
import { enqueue, jobIds } from '@voxline/queue';
import type { WorkerContext } from '../context.js';

/** Queues the poll job of a job's run for an upstream task (its one id per run). */
export async function enqueuePoll(
  ctx: WorkerContext,
  job: Pick<CloneJob, 'id' | 'tenantId' | 'run' | 'priority'>,
  task: { taskId: string; submittedAt: number; upstreamVoiceId?: string },
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
  const upstreamVoiceId = await sentVoiceId(ctx, job);
  await enqueuePoll(ctx, job, {
    taskId: job.upstreamTaskId,
    submittedAt: (job.submittedAt ?? job.updatedAt).getTime(),
    ...(upstreamVoiceId ? { upstreamVoiceId } : {}),
  });
}

/**
 * The upstream voice id a running speech line of a voxline voice was sent with, as its
 * transition to `running` recorded it: a rebuilt poll job needs it to tell a deletion of that
 * voice apart from one already handled (see requeueForMissingVoice). Read only on recovery.
 */
async function sentVoiceId(ctx: WorkerContext, job: CloneJob): Promise<string | undefined> {
  if (job.kind !== 'speech' || !job.voiceId) return undefined;
  const events = await listCloneJobEvents(ctx.db, { tenantId: job.tenantId, cloneJobId: job.id });
  const running = events.findLast((e) => e.kind === 'transition' && e.toStatus === 'running');
  const voiceId = running?.detail?.voiceId;
  return typeof voiceId === 'string' ? voiceId : undefined;
}

/**
 * Before a job's run submits again (a retry, a resubmit after a failed task, a line sent back
 * because its voice was missing): the poll job of the run's previous task still holds the run's
 * one poll id while BullMQ keeps it, so queueing the new task's poll would be a no-op (BullMQ
 * ignores a known id) and the ambiguous-submit check would take it for the new task's. A
 * finished one is removed; 'busy' while that poll step is still ending (its job is active).
 */
export async function clearFinishedPoll(
  ctx: WorkerContext,
  job: Pick<CloneJob, 'id' | 'run'>,
): Promise<'clear' | 'busy'> {
  const id = jobIds.poll(job.id, job.run);
  const state = await ctx.queues.clonePoll.getJobState(id);
  if (state === 'active') return 'busy';
  if (state === 'completed' || state === 'failed') await ctx.queues.clonePoll.remove(id);
  return 'clear';
}
