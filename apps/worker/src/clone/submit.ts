import {
  type CloneJob,
  findArchivableResult,
  getCloneJob,
  getSlotScheduling,
  transitionCloneJob,
} from '@voxline/db';
import { catalog, jobIds, type ParsedPayloadOf, slotHolder } from '@voxline/queue';
import { isRunningHubError, type TaskResponse } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { jitter } from '../step.js';
import { delay, done, fail, park, type StepOutcome } from '../step-outcome.js';
import { resolveAmbiguousSubmit } from './ambiguous.js';
import { enqueueArchive, ensureRunningStep } from './archive-jobs.js';
import { newCallbackTarget, promoteIfCalledBack } from './callbacks.js';
import { pollDelay } from './poll-delay.js';
import { clearFinishedPoll, enqueuePoll } from './poll-jobs.js';
import { taskShape } from './poll-schedule.js';
import { prepareSubmission } from './prepare.js';
import { acceptResult } from './result.js';
import { sendTask } from './send.js';
import { lineAccount, slotWaiter } from './slot-waiter.js';
import { submitErrorOutcome } from './submit-errors.js';
import { requeueForMissingVoice } from './voice-missing.js';

type SubmitPayload = ParsedPayloadOf<'cloneSubmit'>;

// The previous task's poll step hands the job back and ends within a few round trips.
const POLL_ENDING_WAIT_MS = 100;

/**
 * The submit step, for both kinds of task: prepare it (a speech line's voice, which it may wait
 * for without a slot), take an upstream slot, submit, hand the task to a poll job. Decisions
 * about upstream errors are made here, with Postgres as the record; an error thrown from here is
 * an infrastructure failure (a database outage mid-step), left to BullMQ's own retries.
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
    await ensureRunningStep(ctx, job);
    return done;
  }
  if (job.status === 'submitting') {
    const resolved = await resolveAmbiguousSubmit(ctx, job, bullJobId);
    if (resolved.kind !== 'resume') return resolved;
    job = resolved.job;
  }
  if (job.status !== 'queued') {
    await forgoGrant(ctx, job);
    return done;
  }
  // Only a redrive (a new run) can find a result already paid for.
  if (job.run > 1 && (await resumeArchive(ctx, job))) return done;

  const scheduling = await getSlotScheduling(ctx.db, { tenantId: job.tenantId, id: job.id });
  if (!scheduling) return done;
  const account = await ctx.accounts.get(lineAccount(scheduling));
  const { slots } = account;
  const holder = slotHolder(job);

  const prepared = await prepareSubmission(ctx, job, bullJobId, data, account.client);
  // A slot granted while the line waited is of no use to a line that waits for its voice now
  // or failed before submitting: it goes to the next line.
  if (prepared.kind === 'outcome') {
    await slots.forgo(holder);
    return prepared.outcome;
  }
  job = prepared.job;
  // Only a run that already submitted can have a poll job (see clearFinishedPoll).
  if (job.attempts > 0 && (await clearFinishedPoll(ctx, job)) === 'busy') {
    return delay(POLL_ENDING_WAIT_MS);
  }

  const leaseMs = ctx.config.RUNNINGHUB_REQUEST_TIMEOUT_MS + ctx.config.SLOT_LEASE_MARGIN_MS;
  const expectedMs = await ctx.schedule.estimate(taskShape(job));
  const waiter = slotWaiter(job, bullJobId, scheduling, expectedMs);
  if (!(await slots.acquire(waiter, leaseMs))) {
    ctx.metrics.slotWaits.inc({ reason: 'local_limit' });
    // The park delay is only the safety net: a release promotes the job long before it.
    return park(jitter(ctx.config.SLOT_PARK_MS), () =>
      slots.wait(waiter).catch((error: unknown) => {
        // Parked but not registered (Redis went away): the safety delay wakes the job.
        ctx.logger.warn({ err: error, jobId: job.id }, 'could not register as a slot waiter');
      }),
    );
  }

  await forgoGrantsElsewhere(ctx, job, account.name);

  const callback = newCallbackTarget(ctx);
  const submitting = await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['queued'],
    to: 'submitting',
    set: {
      // Its poll, cancel and archive use this account's key and slots, whatever the tenant's
      // key is by then.
      upstreamAccount: account.name,
      // Each submission its own token: a late callback of an earlier one names no line any more.
      ...(callback ? { callbackTokenHash: callback.tokenHash } : {}),
    },
  });
  if (!submitting) {
    await slots.release(holder);
    return done;
  }
  ctx.metrics.slotWait.observe(
    { tenant: job.tenantId },
    Math.max(0, Date.now() - job.updatedAt.getTime()) / 1000,
  );

  const attempts = submitting.attempts + 1;
  // A speech line of a voxline voice: the upstream id it is sent with, which a "voice missing"
  // answer (now or when its task ends) is about.
  const upstreamVoiceId = prepared.voxlineVoice ? (prepared.voiceId ?? undefined) : undefined;
  let task: TaskResponse;
  try {
    task = await sendTask(
      account.client,
      ctx,
      submitting,
      attempts,
      prepared.voiceId,
      callback?.webhookUrl,
    );
  } catch (error) {
    await slots.release(holder);
    if (!isRunningHubError(error)) throw error;
    if (error.voiceMissing && submitting.voiceId && upstreamVoiceId) {
      const outcome = await requeueForMissingVoice(
        ctx,
        { ...submitting, voiceId: submitting.voiceId },
        {
          from: 'submitting',
          upstreamVoiceId,
          error,
          source: { queue: catalog.cloneSubmit.queue, jobId: bullJobId, attempts },
        },
      );
      // Queued again: run this step again at once; it waits for the voice's new clone.
      if (outcome === 'requeued') return delay(0);
      return outcome === 'failed' ? fail(error.code ?? 'VOICE_MISSING', error.message) : done;
    }
    const log = ctx.logger.child({ jobId: job.id, batchId: job.batchId, tenantId: job.tenantId });
    return submitErrorOutcome(ctx, submitting, bullJobId, error, log);
  }

  if (task.terminal && task.status === 'SUCCESS' && task.audio) {
    // Seen in an official script: a submit can come back already finished. Running, then on
    // to the archive step as after a poll.
    await slots.release(holder);
    const running = await transitionCloneJob(ctx.db, {
      tenantId: job.tenantId,
      id: job.id,
      from: ['submitting'],
      to: 'running',
      set: {
        upstreamTaskId: task.taskId,
        submittedAt: new Date(),
        attempts,
        errorCode: null,
        errorMessage: null,
      },
      detail: { taskId: task.taskId, attempt: attempts, finishedOnSubmit: true },
    });
    if (running) await acceptResult(ctx, running, { ...task, audio: task.audio });
    return done;
  }

  // Queue the poll before recording the task id: if we die in between, the poll job still
  // carries the id and adopts the task, so the window in which a crash costs a duplicate
  // submission is only the HTTP call itself.
  const submittedAt = Date.now();
  const firstPoll = await pollDelay(ctx, job, 0);
  await slots.hold(holder, firstPoll + ctx.config.SLOT_LEASE_MARGIN_MS);
  await enqueuePoll(
    ctx,
    job,
    { taskId: task.taskId, submittedAt, ...(upstreamVoiceId ? { upstreamVoiceId } : {}) },
    firstPoll,
  );
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
    detail: {
      taskId: task.taskId,
      attempt: attempts,
      ...(prepared.voiceId ? { voiceId: prepared.voiceId } : {}),
    },
  });
  // Once running, so a promoted poll finds the task recorded rather than adopting it.
  if (callback) await promoteIfCalledBack(ctx, job);
  return done;
}

/**
 * A line that ended (canceled while it waited) may have been granted a slot on its way out, as
 * the scheduler does not know rows: it goes to the next line, unless this run's task is still
 * running upstream (a canceled line is polled until its task ends) and the slot is its own.
 */
async function forgoGrant(ctx: WorkerContext, job: CloneJob): Promise<void> {
  if (!ctx.config.FAIR_SHARES) return;
  const pollState = await ctx.queues.clonePoll.getJobState(jobIds.poll(job.id, job.run));
  if (pollState !== 'unknown' && pollState !== 'completed' && pollState !== 'failed') return;
  const scheduling = await getSlotScheduling(ctx.db, { tenantId: job.tenantId, id: job.id });
  if (!scheduling) return;
  const account = await ctx.accounts.get(lineAccount(scheduling));
  await account.slots.forgo(slotHolder(job));
}

/**
 * A line that waited on another account (its tenant's key changed meanwhile, or it moved from
 * the shared account) may have been granted a slot there too: that one goes to the next line.
 */
async function forgoGrantsElsewhere(
  ctx: WorkerContext,
  job: CloneJob,
  account: string,
): Promise<void> {
  if (!ctx.config.FAIR_SHARES) return;
  const holder = slotHolder(job);
  for (const other of await ctx.accounts.tenantAccounts(job.tenantId, account)) {
    await other.slots.forgo(holder);
  }
}

/**
 * A redriven line whose last run's task succeeded but whose audio could not be stored
 * (ARCHIVE_FAILED): while the upstream link should still work, it goes straight back to the
 * archive step, without a slot and without paying upstream again. False when there is no such
 * result (or its link has expired): the line is submitted afresh.
 */
async function resumeArchive(ctx: WorkerContext, job: CloneJob): Promise<boolean> {
  const result = await findArchivableResult(ctx.db, {
    tenantId: job.tenantId,
    cloneJobId: job.id,
    now: new Date(),
  });
  if (!result) return false;
  const running = await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['queued'],
    to: 'running',
    set: { upstreamTaskId: result.upstreamTaskId, errorCode: null, errorMessage: null },
    detail: { taskId: result.upstreamTaskId, archiveOnly: true },
  });
  if (running) await enqueueArchive(ctx, running);
  return true;
}
