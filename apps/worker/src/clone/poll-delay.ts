import type { CloneJob } from '@voxline/db';
import type { WorkerContext } from '../context.js';
import { callbacksTrusted } from './callbacks.js';
import { taskShape } from './poll-schedule.js';

/**
 * Delay until the next query of a task submitted `elapsedMs` ago: the adaptive schedule, or,
 * while callbacks keep coming for tasks of its kind and model, that times
 * CALLBACK_POLL_STRETCH, so the callback (which promotes the poll) nearly always comes first.
 * Never past the poll deadline, which still has to be checked by a query.
 */
export async function pollDelay(
  ctx: WorkerContext,
  job: Pick<CloneJob, 'kind' | 'request'>,
  elapsedMs: number,
): Promise<number> {
  const estimate = await ctx.schedule.estimate(taskShape(job));
  const adaptive = ctx.schedule.nextDelay(estimate, elapsedMs);
  if (!(await callbacksTrusted(ctx, job))) return adaptive;
  const untilDeadline = ctx.config.POLL_DEADLINE_MS - elapsedMs;
  return Math.max(
    ctx.config.POLL_MIN_INTERVAL_MS,
    Math.min(adaptive * ctx.config.CALLBACK_POLL_STRETCH, untilDeadline),
  );
}
