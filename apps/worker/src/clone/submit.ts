import { appendCloneJobEvent, type CloneJob, getCloneJob, transitionCloneJob } from '@voxline/db';
import { catalog, enqueue, jobIds, type ParsedPayloadOf } from '@voxline/queue';
import { isRunningHubError, type RunningHubError } from '@voxline/runninghub';
import { type Job, UnrecoverableError } from 'bullmq';
import type { WorkerContext } from '../context.js';
import { backoffDelay, delayStep, jitter } from '../step.js';
import { recordFailure, recordSuccess } from './outcomes.js';
import { PollSchedule } from './poll-schedule.js';
import { slotHolder } from './slot-holder.js';
import { SlotWaiters } from './slot-waiters.js';
import { upstreamVoiceId } from './voice-id.js';

type SubmitPayload = ParsedPayloadOf<'cloneSubmit'>;

const SOURCE_QUEUE = catalog.cloneSubmit.queue;
// After its submit call returns, a worker queues the poll job within a few Redis round trips:
// a `submitting` row older than the request timeout plus this has no live submitter.
const SUBMITTER_MARGIN_MS = 2_000;

/**
 * The submit step: take an upstream slot, submit, hand the task to a poll job. Decisions about
 * upstream errors are made here, with Postgres as the record; BullMQ's own retries are left for
 * infrastructure failures (a database outage mid-step).
 */
export async function submitStep(
  ctx: WorkerContext,
  bullJob: Job,
  token: string | undefined,
  data: SubmitPayload,
): Promise<void> {
  let job = await getCloneJob(ctx.db, { tenantId: data.tenantId, id: data.cloneJobId });
  // Gone, finished, canceled, or a job of an earlier run: nothing to do.
  if (!job || job.run !== data.run) return;
  const log = ctx.logger.child({ jobId: job.id, batchId: job.batchId, tenantId: job.tenantId });

  if (job.status === 'running') {
    await ensurePollJob(ctx, job);
    return;
  }
  if (job.status === 'submitting') {
    const resumed = await resolveAmbiguousSubmit(ctx, job, bullJob, token);
    if (!resumed) return;
    job = resumed;
  }
  if (job.status !== 'queued') return;

  const holder = slotHolder(job);
  const leaseMs = ctx.config.RUNNINGHUB_REQUEST_TIMEOUT_MS + ctx.config.SLOT_LEASE_MARGIN_MS;
  if (!(await ctx.slots.acquire(holder, leaseMs))) {
    const waiters = new SlotWaiters(ctx.redis, ctx.config.QUEUE_PREFIX, ctx.queues.cloneSubmit);
    const bullJobId = bullJob.id ?? '';
    await waiters.add(bullJobId, job.priority);
    // A slot freed between the failed acquire and registering would wake nobody: look again.
    if (!(await ctx.slots.acquire(holder, leaseMs))) {
      ctx.metrics.slotWaits.inc({ reason: 'local_limit' });
      return delayStep(bullJob, token, jitter(ctx.config.SLOT_PARK_MS));
    }
    await waiters.remove(bullJobId);
  }

  const submitting = await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['queued'],
    to: 'submitting',
  });
  if (!submitting) {
    await releaseSlot(ctx, holder);
    return;
  }

  let task: Awaited<ReturnType<typeof ctx.upstream.submitVoiceClone>>;
  try {
    const request = job.request;
    task = await ctx.upstream.submitVoiceClone(
      ctx.config.UNIQUE_VOICE_IDS
        ? {
            ...request,
            custom_voice_id: upstreamVoiceId(
              request.custom_voice_id,
              job.id,
              submitting.attempts + 1,
            ),
          }
        : request,
    );
  } catch (error) {
    await releaseSlot(ctx, holder);
    if (!isRunningHubError(error)) throw error;
    return handleSubmitError(ctx, submitting, bullJob, token, error, log);
  }

  const attempts = submitting.attempts + 1;
  if (task.terminal && task.status === 'SUCCESS' && task.audio) {
    // Seen in an official script: a submit can come back already finished.
    await releaseSlot(ctx, holder);
    await recordSuccess(ctx, submitting, { ...task, audio: task.audio }, { attempts });
    return;
  }

  // Queue the poll before recording the task id: if we die in between, the poll job still
  // carries the id and adopts the task, so the window in which a crash costs a duplicate
  // submission is only the HTTP call itself.
  const submittedAt = Date.now();
  const schedule = new PollSchedule(ctx.redis, ctx.config.QUEUE_PREFIX, {
    minMs: ctx.config.POLL_MIN_INTERVAL_MS,
    maxMs: ctx.config.POLL_MAX_INTERVAL_MS,
  });
  const estimate = await schedule.estimate(job.request.model, job.request.text.length);
  const firstPoll = schedule.nextDelay(estimate, 0);
  await ctx.slots.hold(holder, firstPoll + ctx.config.SLOT_LEASE_MARGIN_MS);
  await enqueue(ctx.queues, 'clonePoll', [
    {
      jobId: jobIds.poll(job.id, job.run),
      data: {
        cloneJobId: job.id,
        tenantId: job.tenantId,
        run: job.run,
        taskId: task.taskId,
        submittedAt,
      },
      options: { delay: firstPoll, priority: job.priority },
    },
  ]);
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
}

/** Makes sure a running job has its poll job (after a crash or a lost Redis key). */
export async function ensurePollJob(ctx: WorkerContext, job: CloneJob): Promise<void> {
  if (!job.upstreamTaskId) return;
  const id = jobIds.poll(job.id, job.run);
  const state = await ctx.queues.clonePoll.getJobState(id);
  if (state === 'completed' || state === 'failed') await ctx.queues.clonePoll.remove(id);
  else if (state !== 'unknown') return;
  await enqueue(ctx.queues, 'clonePoll', [
    {
      jobId: id,
      data: {
        cloneJobId: job.id,
        tenantId: job.tenantId,
        run: job.run,
        taskId: job.upstreamTaskId,
        submittedAt: (job.submittedAt ?? job.updatedAt).getTime(),
      },
      options: { priority: job.priority },
    },
  ]);
}

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
async function resolveAmbiguousSubmit(
  ctx: WorkerContext,
  job: CloneJob,
  bullJob: Job,
  token: string | undefined,
): Promise<CloneJob | null> {
  const pollState = await ctx.queues.clonePoll.getJobState(jobIds.poll(job.id, job.run));
  if (pollState !== 'unknown') return null;
  const settledAt =
    job.updatedAt.getTime() + ctx.config.RUNNINGHUB_REQUEST_TIMEOUT_MS + SUBMITTER_MARGIN_MS;
  if (Date.now() < settledAt) return delayStep(bullJob, token, settledAt - Date.now());
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
    await releaseSlot(ctx, slotHolder(job));
    await recordFailure(
      ctx,
      job,
      ['submitting'],
      {
        code: 'AMBIGUOUS_SUBMIT',
        message: 'the worker stopped during submission; check upstream before redriving',
      },
      { queue: SOURCE_QUEUE, jobId: bullJob.id ?? '', attempts },
    );
    return null;
  }
  return transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['submitting'],
    to: 'queued',
    set: { attempts },
    detail: { ambiguous: true },
  });
}

async function handleSubmitError(
  ctx: WorkerContext,
  job: CloneJob,
  bullJob: Job,
  token: string | undefined,
  error: RunningHubError,
  log: WorkerContext['logger'],
): Promise<void> {
  if (error.kind === 'backpressure') {
    // Upstream is full (other clients share the key) or has no instance: not this job's fault,
    // so no attempt is spent.
    await transitionCloneJob(ctx.db, {
      tenantId: job.tenantId,
      id: job.id,
      from: ['submitting'],
      to: 'queued',
      detail: { backpressure: error.code },
    });
    ctx.metrics.slotWaits.inc({ reason: `upstream_${error.code ?? 'full'}` });
    return delayStep(bullJob, token, jitter(error.retryAfterMs ?? ctx.config.SLOT_WAIT_MS));
  }

  const attempts = job.attempts + 1;
  const failure = {
    code: error.code ?? 'UPSTREAM_ERROR',
    message: error.message,
    lastResponse: error.raw,
  };
  if (error.ambiguous) {
    // Upstream may have accepted (and billed) this task: the same dilemma as a crash mid-submit.
    const policy = ctx.config.AMBIGUOUS_SUBMIT_POLICY;
    ctx.metrics.ambiguousSubmits.inc({ policy });
    await appendCloneJobEvent(ctx.db, {
      tenantId: job.tenantId,
      cloneJobId: job.id,
      kind: 'ambiguous_submit',
      detail: { policy, reason: 'response_lost', code: error.code },
    });
    if (policy === 'fail') {
      const source = { queue: SOURCE_QUEUE, jobId: bullJob.id ?? '', attempts };
      await recordFailure(
        ctx,
        job,
        ['submitting'],
        { ...failure, code: 'AMBIGUOUS_SUBMIT' },
        source,
      );
      throw new UnrecoverableError(`AMBIGUOUS_SUBMIT: ${failure.message}`);
    }
  }
  if (error.alertOperator)
    log.error({ code: error.code }, `upstream refused the API key or account: ${error.reason}`);
  const exhausted = attempts >= ctx.config.SUBMIT_MAX_ATTEMPTS;
  if (error.kind === 'fatal' || exhausted) {
    const source = { queue: SOURCE_QUEUE, jobId: bullJob.id ?? '', attempts };
    await recordFailure(
      ctx,
      job,
      ['submitting'],
      exhausted && error.kind !== 'fatal'
        ? { ...failure, message: `${failure.message} (after ${attempts} attempts)` }
        : failure,
      source,
    );
    throw new UnrecoverableError(`${failure.code}: ${failure.message}`);
  }
  await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['submitting'],
    to: 'queued',
    set: { attempts, errorCode: failure.code, errorMessage: failure.message },
    detail: { retry: attempts, code: failure.code },
  });
  const delay = Math.max(
    error.retryAfterMs ?? 0,
    backoffDelay(attempts, ctx.config.RETRY_BASE_DELAY_MS, ctx.config.RETRY_MAX_DELAY_MS),
  );
  log.info({ code: failure.code, attempts, delay }, 'retryable submit error');
  return delayStep(bullJob, token, delay);
}

export async function releaseSlot(ctx: WorkerContext, holder: string): Promise<void> {
  await ctx.slots.release(holder);
  await new SlotWaiters(ctx.redis, ctx.config.QUEUE_PREFIX, ctx.queues.cloneSubmit).wakeOne();
}
