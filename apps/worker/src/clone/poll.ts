import { appendCloneJobEvent, type CloneJob, getCloneJob, transitionCloneJob } from '@voxline/db';
import {
  catalog,
  enqueue,
  jobIds,
  type ParsedPayloadOf,
  slotHolder,
  submitJob,
  type UpstreamSlots,
} from '@voxline/queue';
import { isRunningHubError, type RunningHubError, type TaskResponse } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { backoffDelay, jitter } from '../step.js';
import { delay, done, fail, type StepOutcome } from '../step-outcome.js';
import { calledBack } from './callbacks.js';
import { type Failure, recordDroppedResult, recordFailure } from './outcomes.js';
import { pollDelay } from './poll-delay.js';
import { taskShape } from './poll-schedule.js';
import { acceptResult } from './result.js';
import { requeueForMissingVoice } from './voice-missing.js';

type PollPayload = ParsedPayloadOf<'clonePoll'>;
type Source = { queue: string; jobId: string; attempts: number };

/**
 * The poll step: one query of the upstream task. Not finished: park the job until the next
 * query (a callback promotes it sooner). Finished: store the outcome (a result goes on to the
 * archive step), free the slot. A canceled job is still polled until its
 * task ends upstream, because until then it occupies an upstream slot.
 */
export async function pollStep(
  ctx: WorkerContext,
  bullJobId: string,
  data: PollPayload,
): Promise<StepOutcome> {
  let job = await getCloneJob(ctx.db, { tenantId: data.tenantId, id: data.cloneJobId });
  if (!job || job.run !== data.run) return done;
  const holder = slotHolder(job);

  if (job.status === 'submitting') {
    // Either the submit step is about to record the task (a race it may win: then re-read), or
    // it crashed after queueing this poll but before recording the task: adopt it.
    const adopted = await transitionCloneJob(ctx.db, {
      tenantId: job.tenantId,
      id: job.id,
      from: ['submitting'],
      to: 'running',
      set: {
        upstreamTaskId: data.taskId,
        submittedAt: new Date(data.submittedAt),
        attempts: job.attempts + 1,
      },
      detail: { taskId: data.taskId, adopted: true },
    });
    job = adopted ?? (await getCloneJob(ctx.db, { tenantId: data.tenantId, id: data.cloneJobId }));
    if (!job) return done;
  }
  // The account the task was submitted on, whatever the tenant's key is now.
  const account = await ctx.accounts.get(job.upstreamAccount);
  const slot: HeldSlot = { slots: account.slots, holder, submittedAt: data.submittedAt };
  if (job.status !== 'running' && job.status !== 'canceled') {
    await account.slots.release(holder);
    return done;
  }

  const elapsed = Date.now() - data.submittedAt;
  const source = { queue: catalog.clonePoll.queue, jobId: bullJobId, attempts: job.attempts };

  const trigger = (await calledBack(ctx, job)) ? 'callback' : 'schedule';
  ctx.metrics.polls.inc({ trigger });
  let task: TaskResponse;
  try {
    task = await account.client.queryTask(data.taskId);
  } catch (error) {
    if (!isRunningHubError(error)) throw error;
    if (error.taskLost) {
      // Unknown or expired upstream: every further query would say so again. A resubmit may
      // pay for the line twice (the task may have run), so the line fails for a person to
      // judge, and a redrive submits it afresh.
      return finish(ctx, job, slot, source, {
        code: 'UPSTREAM_TASK_LOST',
        message: `upstream has no task ${data.taskId}: ${error.message}`,
        lastResponse: error.raw,
      });
    }
    const queryErrors = data.queryErrors + 1;
    if (error.kind === 'fatal' || queryErrors > ctx.config.POLL_MAX_QUERY_ERRORS) {
      return finish(ctx, job, slot, source, {
        code: error.code ?? 'QUERY_ERROR',
        message: error.message,
        lastResponse: error.raw,
      });
    }
    // Official clients back off min(2n, 10) s between failed queries.
    const wait = Math.max(
      error.retryAfterMs ?? 0,
      backoffDelay(
        queryErrors,
        ctx.config.RETRY_BASE_DELAY_MS,
        Math.min(ctx.config.RETRY_MAX_DELAY_MS, 10_000),
      ),
    );
    await account.slots.hold(holder, wait + ctx.config.SLOT_LEASE_MARGIN_MS);
    return delay(wait, { ...data, queryErrors });
  }

  const polls = data.polls + 1;
  if (!task.terminal) {
    if (elapsed > ctx.config.POLL_DEADLINE_MS) {
      // Best effort: there is no v2 cancel, and the task may well go on upstream.
      await account.client.cancelTask(data.taskId);
      return finish(ctx, job, slot, source, {
        code: 'POLL_DEADLINE',
        message: `task still ${task.status} after ${Math.round(elapsed / 1000)} s`,
        lastResponse: task.raw,
      });
    }
    const wait = jitter(await pollDelay(ctx, job, elapsed));
    await account.slots.hold(holder, wait + ctx.config.SLOT_LEASE_MARGIN_MS);
    return delay(wait, { ...data, polls, queryErrors: 0 });
  }

  ctx.metrics.pollsPerTask.observe(polls);
  ctx.metrics.taskDuration.observe(elapsed / 1000);
  if (job.status === 'canceled') {
    await releaseSlot(ctx, job, slot);
    await recordDroppedResult(ctx, job, task);
    return done;
  }

  if (task.status === 'SUCCESS' && task.audio) {
    await ctx.schedule.observe(taskShape(job), observedDuration(task, elapsed, polls));
    // The task is done upstream: its slot is free while the audio is archived.
    await releaseSlot(ctx, job, slot);
    await acceptResult(ctx, job, { ...task, audio: task.audio });
    return done;
  }

  const error =
    task.status === 'SUCCESS'
      ? {
          kind: 'retryable' as const,
          code: 'NO_AUDIO',
          message: 'task succeeded without an audio URL',
          raw: task.raw,
        }
      : account.client.failureOf(task);
  if ('voiceMissing' in error && error.voiceMissing && job.kind === 'speech' && job.voiceId) {
    await releaseSlot(ctx, job, slot);
    return voiceMissingTask(ctx, { ...job, voiceId: job.voiceId }, data, error, source);
  }
  if (error.kind !== 'fatal' && job.attempts < ctx.config.SUBMIT_MAX_ATTEMPTS) {
    await releaseSlot(ctx, job, slot);
    await resubmit(ctx, job, { code: error.code ?? 'TASK_FAILED', message: error.message });
    return done;
  }
  return finish(ctx, job, slot, source, {
    code: error.code ?? 'TASK_FAILED',
    message: error.message,
    lastResponse: task.raw,
  });
}

/** The slot a running task holds, on the account it was submitted with. */
interface HeldSlot {
  slots: UpstreamSlots;
  holder: string;
  submittedAt: number;
}

/** The task ended upstream: its slot goes to the next line, and its tenant is charged the time. */
async function releaseSlot(ctx: WorkerContext, job: CloneJob, slot: HeldSlot): Promise<void> {
  await slot.slots.release(slot.holder);
  const seconds = Math.max(0, Date.now() - slot.submittedAt) / 1000;
  ctx.metrics.slotSeconds.inc({ tenant: job.tenantId, account: slot.slots.account }, seconds);
}

/** Fails the job for good (dead letter) and frees its slot; BullMQ is not to retry it. */
async function finish(
  ctx: WorkerContext,
  job: CloneJob,
  slot: HeldSlot,
  source: Source,
  failure: Failure,
): Promise<StepOutcome> {
  await releaseSlot(ctx, job, slot);
  if (job.status === 'canceled') {
    await appendCloneJobEvent(ctx.db, {
      tenantId: job.tenantId,
      cloneJobId: job.id,
      kind: 'result_dropped',
      detail: { code: failure.code },
    });
    return fail(failure.code, "canceled job's task ended");
  }
  await recordFailure(ctx, job, ['running'], failure, source);
  return fail(failure.code, failure.message);
}

/**
 * A speech task that failed because upstream did not know its voice: the voice is cloned again
 * (once per deletion) and the line, queued again without spending an attempt, gets a fresh
 * submit job of the same run, which waits for the voice.
 */
async function voiceMissingTask(
  ctx: WorkerContext,
  job: CloneJob & { voiceId: string },
  data: PollPayload,
  error: RunningHubError,
  source: Source,
): Promise<StepOutcome> {
  const outcome = await requeueForMissingVoice(ctx, job, {
    from: 'running',
    upstreamVoiceId: data.upstreamVoiceId,
    error,
    source,
  });
  if (outcome === 'failed') return fail(error.code ?? 'VOICE_MISSING', error.message);
  if (outcome === 'requeued') await requeueSubmit(ctx, job, 0);
  return done;
}

/** Replaces the run's (completed) submit job with a new one, so the id stays the run's one id. */
async function requeueSubmit(ctx: WorkerContext, job: CloneJob, delayMs: number): Promise<void> {
  await ctx.queues.cloneSubmit.remove(jobIds.submit(job.id, job.run));
  await enqueue(ctx.queues, 'cloneSubmit', [submitJob(job, delayMs)]);
}

/** The task failed upstream for a reason worth another try: a fresh submission of the same run. */
async function resubmit(ctx: WorkerContext, job: CloneJob, failure: Failure): Promise<void> {
  const queued = await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['running'],
    to: 'queued',
    set: {
      upstreamTaskId: null,
      submittedAt: null,
      errorCode: failure.code,
      errorMessage: failure.message,
    },
    detail: { resubmit: true, code: failure.code },
  });
  if (!queued) return;
  await requeueSubmit(
    ctx,
    job,
    backoffDelay(job.attempts, ctx.config.RETRY_BASE_DELAY_MS, ctx.config.RETRY_MAX_DELAY_MS),
  );
}

/**
 * What this task says about task durations. `elapsed` includes our own polling lag, and
 * upstream's taskCostTime is whole seconds: the smaller is the better bound. A task already done
 * at the first look may have finished long before, so its duration is taken as somewhat
 * shorter; without that, an estimate that is too long would never shrink.
 */
function observedDuration(task: TaskResponse, elapsedMs: number, polls: number): number {
  const costMs = Number(task.usage?.taskCostTime) * 1000;
  const bound = costMs > 0 ? Math.min(costMs, elapsedMs) : elapsedMs;
  return polls === 1 ? bound * 0.85 : bound;
}
