import {
  type AudioResult,
  appendCloneJobEvent,
  batchHasActiveLines,
  type CloneJob,
  type CloneStatus,
  getAudioResult,
  insertDeadLetter,
  touchVoice,
  transitionCloneJob,
} from '@voxline/db';
import { enqueue } from '@voxline/queue';
import type { TaskResponse } from '@voxline/runninghub';
import { completeBatch, recordCloneEvent } from '@voxline/webhooks';
import type { WorkerContext } from '../context.js';
import { admitCommittedDeliveries } from '../deliveries.js';
import {
  announceSettledVoice,
  voiceCloneFailed,
  voiceCloneSucceeded,
} from '../voices/clone-outcome.js';

// A voice's last use is written at most this often: a 10,000-line batch in one voice would
// otherwise rewrite its row 10,000 times, and upstream's 7 days do not need that precision.
const VOICE_TOUCH_THROTTLE_MS = 60_000;

export interface Failure {
  code: string;
  message: string;
  lastResponse?: unknown;
}

/**
 * After a line's terminal transition has committed: tell webhooks, and finish its batch if it
 * was the last. Both are repeated by the reconciler if the process dies here.
 */
async function afterTerminal(
  ctx: WorkerContext,
  job: CloneJob,
  deliveryIds: string[],
): Promise<void> {
  await admitCommittedDeliveries(ctx, deliveryIds);
  if (!job.batchId) return;
  // Only a batch's last line finds it done: the others skip the transaction with one probe.
  if (await batchHasActiveLines(ctx.db, { tenantId: job.tenantId, batchId: job.batchId })) return;
  const batchDeliveries = await completeBatch(ctx.db, {
    tenantId: job.tenantId,
    batchId: job.batchId,
  });
  if (batchDeliveries) await admitCommittedDeliveries(ctx, batchDeliveries);
}

/** Counts a task that ended, and what it cost, by kind, model and tenant. */
function countTask(ctx: WorkerContext, job: CloneJob, status: 'succeeded' | 'failed'): void {
  const labels = { kind: job.kind, model: job.request.model, tenant: job.tenantId };
  ctx.metrics.tasks.inc({ ...labels, status });
  if (status !== 'succeeded') return;
  ctx.metrics.taskCost.inc({ ...labels, basis: 'estimated' }, job.estimatedCost);
  if (job.actualCost !== null)
    ctx.metrics.taskCost.inc({ ...labels, basis: 'actual' }, job.actualCost);
}

/**
 * Marks a running job whose result is stored (and archived) succeeded, atomically with its
 * `clone.succeeded` event (with the result row `stored` when the caller has it, else read); false if it was no longer running. A voice's clone task makes its
 * voice ready in the same transaction, and then wakes the lines waiting for it; a speech line
 * keeps its voice alive.
 */
export async function recordSuccess(
  ctx: WorkerContext,
  job: CloneJob,
  stored?: AudioResult,
): Promise<boolean> {
  const outcome = await ctx.db.transaction(async (tx) => {
    const done = await transitionCloneJob(tx, {
      tenantId: job.tenantId,
      id: job.id,
      from: ['running'],
      to: 'succeeded',
      set: { errorCode: null, errorMessage: null },
      detail: { taskId: job.upstreamTaskId },
    });
    if (!done) return null;
    const audio =
      stored ?? (await getAudioResult(tx, { tenantId: job.tenantId, cloneJobId: job.id }));
    return {
      done,
      deliveries: await recordCloneEvent(tx, done, ctx.cloneEvents, audio),
      voice: await voiceCloneSucceeded(tx, ctx, done),
    };
  });
  if (!outcome) return false;
  ctx.metrics.cloneOutcomes.inc({ status: 'succeeded', code: '' });
  countTask(ctx, outcome.done, 'succeeded');
  await announceSettledVoice(ctx, outcome.voice);
  if (outcome.done.kind === 'speech' && outcome.done.voiceId) {
    await touchVoice(ctx.db, {
      tenantId: job.tenantId,
      voiceId: outcome.done.voiceId,
      ttlMs: ctx.config.VOICE_UPSTREAM_TTL_MS,
      throttleMs: VOICE_TOUCH_THROTTLE_MS,
    });
  }
  await afterTerminal(ctx, outcome.done, outcome.deliveries);
  return true;
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
  await afterTerminal(ctx, outcome.failed, outcome.deliveries);
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
