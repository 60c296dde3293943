import {
  appendCloneJobEvent,
  type CloneJob,
  type SucceededTask,
  storeTaskResult,
} from '@voxline/db';
import { actualCost } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { enqueueArchive } from './archive-jobs.js';

// RunningHub does not say how long result links live; about a day is reported.
const RESULT_URL_LIFETIME_MS = 24 * 3_600_000;

/**
 * A running job's task succeeded: its result (upstream link, usage) and what it cost are
 * stored, and the archive step is queued to copy the audio into the store; the line stays
 * `running` until that copy exists. The caller has freed the upstream slot: the task is done
 * there. False, storing nothing, when the job was no longer running (canceled meanwhile).
 */
export async function acceptResult(
  ctx: WorkerContext,
  job: CloneJob,
  task: SucceededTask,
): Promise<boolean> {
  const stored = await ctx.db.transaction(async (tx) => {
    const row = await storeTaskResult(tx, {
      tenantId: job.tenantId,
      cloneJobId: job.id,
      task,
      urlExpiresAt: new Date(Date.now() + RESULT_URL_LIFETIME_MS),
      actualCost: actualCost(task.usage?.consumeMoney),
    });
    if (!row) return false;
    await appendCloneJobEvent(tx, {
      tenantId: job.tenantId,
      cloneJobId: job.id,
      kind: 'result_received',
      detail: { taskId: task.taskId },
    });
    return true;
  });
  // Queued after the commit: the reconciler queues it again if we die in between.
  if (stored) await enqueueArchive(ctx, job);
  return stored;
}
