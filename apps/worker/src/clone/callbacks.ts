import { createHash, randomBytes } from 'node:crypto';
import type { CloneJob } from '@voxline/db';
import { callbackArrived, lastCallbackAt, promotePoll } from '@voxline/queue';
import type { WorkerContext } from '../context.js';

// 24 random bytes (192 bits): the token in the webhookUrl is the callback's only credential.
const TOKEN_BYTES = 24;

/** Where upstream calls back for one submission, and what of it Postgres keeps. */
export interface CallbackTarget {
  webhookUrl: string;
  /** SHA-256 (hex) of the token: the route finds the line by it; the token itself is not kept. */
  tokenHash: string;
}

/** A fresh target per submission, or null when RUNNINGHUB_CALLBACK_BASE_URL is unset. */
export function newCallbackTarget(ctx: WorkerContext): CallbackTarget | null {
  const base = ctx.config.RUNNINGHUB_CALLBACK_BASE_URL;
  if (!base) return null;
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return {
    webhookUrl: `${base.replace(/\/+$/, '')}/callbacks/runninghub/${token}`,
    tokenHash: createHash('sha256').update(token).digest('hex'),
  };
}

/** Whether a callback for this run's task has arrived (the API's route notes it in Redis). */
export async function calledBack(
  ctx: WorkerContext,
  job: Pick<CloneJob, 'id' | 'run'>,
): Promise<boolean> {
  if (!ctx.config.RUNNINGHUB_CALLBACK_BASE_URL) return false;
  return callbackArrived(ctx.redis, ctx.config.QUEUE_PREFIX, { cloneJobId: job.id, run: job.run });
}

/**
 * Once the poll job is queued (and the task recorded): a callback that came before the poll job
 * existed (a task that ended within the submit's round trips) could not promote it, and left
 * only its flag. The route promotes a poll job that exists, so together no callback is missed.
 */
export async function promoteIfCalledBack(
  ctx: WorkerContext,
  job: Pick<CloneJob, 'id' | 'run'>,
): Promise<void> {
  if (await calledBack(ctx, job)) {
    await promotePoll(ctx.queues, { cloneJobId: job.id, run: job.run });
  }
}

/**
 * Whether callbacks are coming for tasks of this kind and model: one arrived within
 * CALLBACK_TRUST_WINDOW_MS. Then polls are only the safety net for a lost one.
 */
export async function callbacksTrusted(
  ctx: WorkerContext,
  job: Pick<CloneJob, 'kind' | 'request'>,
): Promise<boolean> {
  if (!ctx.config.RUNNINGHUB_CALLBACK_BASE_URL) return false;
  const at = await lastCallbackAt(ctx.redis, ctx.config.QUEUE_PREFIX, {
    kind: job.kind,
    model: job.request.model,
  });
  return at !== null && Date.now() - at < ctx.config.CALLBACK_TRUST_WINDOW_MS;
}
