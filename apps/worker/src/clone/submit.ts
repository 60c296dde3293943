import { getCloneJob, transitionCloneJob } from '@voxline/db';
import { type ParsedPayloadOf, slotHolder } from '@voxline/queue';
import { encodeUpstreamVoiceId, isRunningHubError } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { jitter } from '../step.js';
import { done, park, type StepOutcome } from '../step-outcome.js';
import { resolveAmbiguousSubmit } from './ambiguous.js';
import { recordSuccess } from './outcomes.js';
import { enqueuePoll, ensurePollJob } from './poll-jobs.js';
import { submitErrorOutcome } from './submit-errors.js';

type SubmitPayload = ParsedPayloadOf<'cloneSubmit'>;

/**
 * The submit step: take an upstream slot, submit, hand the task to a poll job. Decisions about
 * upstream errors are made here, with Postgres as the record; an error thrown from here is an
 * infrastructure failure (a database outage mid-step), left to BullMQ's own retries.
 */
export async function submitStep(
  ctx: WorkerContext,
  bullJobId: string,
  data: SubmitPayload,
): Promise<StepOutcome> {
  let job = await getCloneJob(ctx.db, { tenantId: data.tenantId, id: data.cloneJobId });
  // Gone, finished, canceled, or a job of an earlier run: nothing to do.
  if (!job || job.run !== data.run) return done;

  if (job.status === 'running') {
    await ensurePollJob(ctx, job);
    return done;
  }
  if (job.status === 'submitting') {
    const resolved = await resolveAmbiguousSubmit(ctx, job, bullJobId);
    if (resolved.kind !== 'resume') return resolved;
    job = resolved.job;
  }
  if (job.status !== 'queued') return done;

  const holder = slotHolder(job);
  const leaseMs = ctx.config.RUNNINGHUB_REQUEST_TIMEOUT_MS + ctx.config.SLOT_LEASE_MARGIN_MS;
  if (!(await ctx.slots.acquire(holder, leaseMs))) {
    ctx.metrics.slotWaits.inc({ reason: 'local_limit' });
    const waiter = { bullJobId, priority: job.priority };
    // The park delay is only the safety net: a release promotes the job long before it.
    return park(jitter(ctx.config.SLOT_PARK_MS), () =>
      ctx.slots.wait(waiter).catch((error: unknown) => {
        // Parked but not registered (Redis went away): the safety delay wakes the job.
        ctx.logger.warn({ err: error, jobId: job.id }, 'could not register as a slot waiter');
      }),
    );
  }

  const submitting = await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['queued'],
    to: 'submitting',
  });
  if (!submitting) {
    await ctx.slots.release(holder);
    return done;
  }

  let task: Awaited<ReturnType<typeof ctx.upstream.submitVoiceClone>>;
  try {
    const request = job.request;
    task = await ctx.upstream.submitVoiceClone(
      ctx.config.UNIQUE_VOICE_IDS
        ? {
            ...request,
            custom_voice_id: encodeUpstreamVoiceId(
              request.custom_voice_id,
              job.id,
              submitting.attempts + 1,
            ),
          }
        : request,
    );
  } catch (error) {
    await ctx.slots.release(holder);
    if (!isRunningHubError(error)) throw error;
    const log = ctx.logger.child({ jobId: job.id, batchId: job.batchId, tenantId: job.tenantId });
    return submitErrorOutcome(ctx, submitting, bullJobId, error, log);
  }

  const attempts = submitting.attempts + 1;
  if (task.terminal && task.status === 'SUCCESS' && task.audio) {
    // Seen in an official script: a submit can come back already finished.
    await ctx.slots.release(holder);
    await recordSuccess(ctx, submitting, { ...task, audio: task.audio }, { attempts });
    return done;
  }

  // Queue the poll before recording the task id: if we die in between, the poll job still
  // carries the id and adopts the task, so the window in which a crash costs a duplicate
  // submission is only the HTTP call itself.
  const submittedAt = Date.now();
  const estimate = await ctx.schedule.estimate(job.request.model, job.request.text.length);
  const firstPoll = ctx.schedule.nextDelay(estimate, 0);
  await ctx.slots.hold(holder, firstPoll + ctx.config.SLOT_LEASE_MARGIN_MS);
  await enqueuePoll(ctx, job, { taskId: task.taskId, submittedAt }, firstPoll);
  await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['submitting'],
    to: 'running',
    set: {
      upstreamTaskId: task.taskId,
      submittedAt: new Date(submittedAt),
      attempts,
      errorCode: null,
      errorMessage: null,
    },
    detail: { taskId: task.taskId, attempt: attempts },
  });
  return done;
}
