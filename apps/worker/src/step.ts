import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { StepOutcome } from './step-outcome.js';

/**
 * Turns a step's outcome into BullMQ's terms. A delay moves the job itself and then throws
 * DelayedError, as BullMQ requires (nothing in a processor ever sleeps); a failure throws
 * UnrecoverableError, so BullMQ does not spend retries on what was already decided. Any other
 * error a step throws is an infrastructure failure (a database outage) and is left to BullMQ's
 * own retries.
 */
export async function settle(
  job: Job,
  token: string | undefined,
  outcome: StepOutcome,
): Promise<void> {
  switch (outcome.kind) {
    case 'done':
      return;
    case 'delay':
      if (outcome.data) await job.updateData(outcome.data);
      await job.moveToDelayed(Date.now() + Math.max(0, Math.round(outcome.ms)), token);
      await outcome.afterParked?.();
      throw new DelayedError();
    case 'fail':
      throw new UnrecoverableError(`${outcome.code}: ${outcome.message}`);
  }
}

/**
 * Exponential backoff with equal jitter: a delay in [ceiling/2, ceiling]. The random half spreads
 * retries of many jobs that failed together; the fixed half keeps every retry at least half the
 * backoff away from the failure it follows, which full jitter (0..ceiling) would not: a retry
 * after a few milliseconds would meet the same outage, and a submit retried early may be paid.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** ±10% jitter, so jobs that started together do not poll together forever. */
export function jitter(ms: number, random = Math.random): number {
  return Math.round(ms * (0.9 + random() * 0.2));
}
