import { appendCloneJobEvent, type CloneJob, transitionCloneJob } from '@voxline/db';
import { catalog } from '@voxline/queue';
import type { RunningHubError } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { backoffDelay, jitter } from '../step.js';
import { delay, fail, type StepOutcome } from '../step-outcome.js';
import { recordFailure } from './outcomes.js';

/**
 * What a refused or failed submit call means for a job in `submitting` (its slot already
 * released): wait for upstream room, retry with backoff, or fail it for good.
 */
export async function submitErrorOutcome(
  ctx: WorkerContext,
  job: CloneJob,
  bullJobId: string,
  error: RunningHubError,
  log: WorkerContext['logger'],
): Promise<StepOutcome> {
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
    return delay(jitter(error.retryAfterMs ?? ctx.config.SLOT_WAIT_MS));
  }

  const attempts = job.attempts + 1;
  const source = { queue: catalog.cloneSubmit.queue, jobId: bullJobId, attempts };
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
      await recordFailure(
        ctx,
        job,
        ['submitting'],
        { ...failure, code: 'AMBIGUOUS_SUBMIT' },
        source,
      );
      return fail('AMBIGUOUS_SUBMIT', failure.message);
    }
  }
  if (error.alertOperator)
    log.error({ code: error.code }, `upstream refused the API key or account: ${error.reason}`);
  const exhausted = attempts >= ctx.config.SUBMIT_MAX_ATTEMPTS;
  if (error.kind === 'fatal' || exhausted) {
    await recordFailure(
      ctx,
      job,
      ['submitting'],
      exhausted && error.kind !== 'fatal'
        ? { ...failure, message: `${failure.message} (after ${attempts} attempts)` }
        : failure,
      source,
    );
    return fail(failure.code, failure.message);
  }
  await transitionCloneJob(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    from: ['submitting'],
    to: 'queued',
    set: { attempts, errorCode: failure.code, errorMessage: failure.message },
    detail: { retry: attempts, code: failure.code },
  });
  const wait = Math.max(
    error.retryAfterMs ?? 0,
    backoffDelay(attempts, ctx.config.RETRY_BASE_DELAY_MS, ctx.config.RETRY_MAX_DELAY_MS),
  );
  log.info({ code: failure.code, attempts, delay: wait }, 'retryable submit error');
  return delay(wait);
}
