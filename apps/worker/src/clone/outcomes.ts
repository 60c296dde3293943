import {
  appendCloneJobEvent,
  batchHasActiveLines,
  type CloneJob,
  type CloneStatus,
  insertDeadLetter,
  transitionCloneJob,
} from '@voxline/db';
import { enqueue } from '@voxline/queue';
import type { TaskResponse } from '@voxline/runninghub';
import { completeBatch, recordCloneEvent } from '@voxline/webhooks';
import type { WorkerContext } from '../context.js';
import { admitCommittedDeliveries } from '../deliveries.js';
import { announceSettledVoice, voiceCloneFailed } from '../voices/clone-outcome.js';

export interface Failure {
  code: string;
  message: string;
  lastResponse?: unknown;
}

/**
 * After lines' terminal transitions have committed: tell webhooks, and finish each of their
 * batches that has no active line left. Both are repeated by the reconciler if the process
 * dies here.
 */
export async function afterTerminal(
  ctx: WorkerContext,
  jobs: readonly CloneJob[],
  deliveryIds: string[],
): Promise<void> {
  await admitCommittedDeliveries(ctx, deliveryIds);
  const batches = new Map<string, { tenantId: string; batchId: string }>();
  for (const job of jobs) {
    if (job.batchId) batches.set(job.batchId, { tenantId: job.tenantId, batchId: job.batchId });
  }
  for (const batch of batches.values()) {
    // Only a batch's last line finds it done: the others skip the transaction with one probe.
    if (await batchHasActiveLines(ctx.db, batch)) continue;
    const batchDeliveries = await completeBatch(ctx.db, batch);
    if (batchDeliveries) await admitCommittedDeliveries(ctx, batchDeliveries);
  }
}

/** Counts a task that ended, and what it cost, by kind, model and tenant. */
export function countTask(ctx: WorkerContext, job: CloneJob, status: 'succeeded' | 'failed'): void {
  const labels = { kind: job.kind, model: job.request.model, tenant: job.tenantId };
  ctx.metrics.tasks.inc({ ...labels, status });
  if (status !== 'succeeded') return;
  ctx.metrics.taskCost.inc({ ...labels, basis: 'estimated' }, job.estimatedCost);
  if (job.actualCost !== null)
    ctx.metrics.taskCost.inc({ ...labels, basis: 'actual' }, job.actualCost);
}

/**
 * Marks the job failed with its code, writes the dead letter and the event in one transaction,
 * then puts a record on the dead-letter queue for operators. False if it was already elsewhere.
 * A voice's clone task fails its voice with it, and wakes the lines waiting for it.
 */
export async function recordFailure(
  ctx: WorkerContext,
  job: CloneJob,
  from: readonly CloneStatus[],
  failure: Failure,
  source: { queue: string; jobId: string; attempts: number },
): Promise<boolean> {
  const outcome = await ctx.db.transaction(async (tx) => {
    const failed = await transitionCloneJob(tx, {
      tenantId: job.tenantId,
      id: job.id,
      from,
      to: 'failed',
      set: { errorCode: failure.code, errorMessage: failure.message, attempts: source.attempts },
      detail: { code: failure.code, message: failure.message },
    });
    if (!failed) return null;
    await insertDeadLetter(tx, {
      tenantId: job.tenantId,
      cloneJobId: job.id,
      batchId: job.batchId,
      sourceQueue: source.queue,
      bullJobId: source.jobId,
      run: job.run,
      attempts: source.attempts,
      errorCode: failure.code,
      errorMessage: failure.message,
      lastResponse: (failure.lastResponse ?? null) as object | null,
    });
    return {
      failed,
      deliveries: await recordCloneEvent(tx, failed, ctx.cloneEvents),
      voice: await voiceCloneFailed(tx, ctx, failed, failure),
    };
  });
  if (!outcome) return false;
  ctx.metrics.cloneOutcomes.inc({ status: 'failed', code: failure.code });
  countTask(ctx, outcome.failed, 'failed');
  await announceSettledVoice(ctx, outcome.voice);
  await enqueue(ctx.queues, 'deadLetter', [
    {
      jobId: `${source.jobId}-dl`,
      data: {
        sourceQueue: source.queue,
        jobId: source.jobId,
        cloneJobId: job.id,
        tenantId: job.tenantId,
        attempts: source.attempts,
        errorCode: failure.code,
        errorMessage: failure.message,
        lastResponse: failure.lastResponse,
      },
    },
  ]);
  await afterTerminal(ctx, [outcome.failed], outcome.deliveries);
  return true;
}

/** A canceled job's task finished upstream: its result is dropped, and the fact recorded. */
export async function recordDroppedResult(
  ctx: WorkerContext,
  job: CloneJob,
  task: TaskResponse,
): Promise<void> {
  await appendCloneJobEvent(ctx.db, {
    tenantId: job.tenantId,
    cloneJobId: job.id,
    kind: 'result_dropped',
    detail: { taskId: task.taskId, status: task.status },
  });
}
