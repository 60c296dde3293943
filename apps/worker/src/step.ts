import { DelayedError, type Job } from 'bullmq';

/**
 * Parks the job until `delayMs` from now and ends this step. BullMQ requires the job to move
 * itself and then throw DelayedError; nothing in a processor ever sleeps.
 */
export async function delayStep(
  job: Job,
  token: string | undefined,
  delayMs: number,
): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(0, Math.round(delayMs)), token);
  throw new DelayedError();
}

/** Exponential backoff with full jitter: spreads retries of many jobs that failed together. */
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
