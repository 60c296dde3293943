import { appendCloneJobEvent, type CloneJob, transitionCloneJob } from '@voxline/db';
import { catalog, jobIds, slotHolder } from '@voxline/queue';
import type { WorkerContext } from '../context.js';
import { delay, done, type StepOutcome } from '../step-outcome.js';
import { recordFailure } from './outcomes.js';

// After its submit call returns, a worker queues the poll job within a few Redis round trips:
// a `submitting` row older than the request timeout plus this has no live submitter.
const SUBMITTER_MARGIN_MS = 2_000;

/** The job is back in `queued` and its submit step goes on with it. */
export type Resumed = { kind: 'resume'; job: CloneJob };

/**
 * A job found in `submitting` when its submit step starts. Either another worker is still inside
 * the submit call (its lock lapsed under load and BullMQ handed the job on, or the reconciler
 * re-queued it), or a worker died there. Until the request timeout has passed since the row
 * entered `submitting`, it is the first: wait, and look again, since deciding now would submit
 * a live task twice. Found by the graceful-shutdown chaos scenario.
 *
 * After that, the submitter is gone, and upstream may or may not have accepted the task:
 * RunningHub has no idempotency key to ask. If a poll job exists, the submit did land and the
 * poll job adopts it. Otherwise apply the configured policy, counting every case: a resubmit may
 * pay twice.
 */
export async function resolveAmbiguousSubmit(
  ctx: WorkerContext,
  job: CloneJob,
  bullJobId: string,
): Promise<StepOutcome | Resumed> {
  const pollState = await ctx.queues.clonePoll.getJobState(jobIds.poll(job.id, job.run));
  if (pollState !== 'unknown') return done;
  const settledAt =
    job.updatedAt.getTime() + ctx.config.RUNNINGHUB_REQUEST_TIMEOUT_MS + SUBMITTER_MARGIN_MS;
  if (Date.now() < settledAt) return delay(settledAt - Date.now());
  const policy = ctx.config.AMBIGUOUS_SUBMIT_POLICY;
  ctx.metrics.ambiguousSubmits.inc({ policy });
  ctx.logger.warn(
    { jobId: job.id, policy },
    'ambiguous submit: crashed between submit and recording the task',
  );
  await appendCloneJobEvent(ctx.db, {
    tenantId: job.tenantId,
    cloneJobId: job.id,
    kind: 'ambiguous_submit',
    detail: { policy },
  });
  // The crashed attempt may have been accepted (and billed) upstream: it counts.
  const attempts = job.attempts + 1;
  if (policy === 'fail') {
    await (await ctx.accounts.get(job.upstreamAccount)).slots.release(slotHolder(job));
    await recordFailure(
      ctx,
      job,
      ['submitting'],
      {
        code: 'AMBIGUOUS_SUBMIT',
        message: 'the worker stopped during submission; check upstream before redriving',
      },
      { queue: catalog.cloneSubmit.queue, jobId: bullJobId, attempts },
    );
    return done;
  }
  const queued = await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['submitting'],
    to: 'queued',
    set: { attempts },
    detail: { ambiguous: true },
  });
  return queued ? { kind: 'resume', job: queued } : done;
}
