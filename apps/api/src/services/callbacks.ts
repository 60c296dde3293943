import { createHash } from 'node:crypto';
import {
  type CallbackTarget,
  findCloneJobByCallbackToken,
  recordCallbackReceived,
} from '@voxline/db';
import { noteCallback, promotePoll } from '@voxline/queue';
import { isTaskCallbackError, parseTaskCallback } from '@voxline/runninghub';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../context.js';

// The worker's tokens are 24 or more random bytes in base64url (32+ characters); anything else
// cannot be one, and is refused without a query.
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,256}$/;

/** The line a callback token belongs to, or null (a token never issued, or an older one). */
export async function findCallbackTarget(
  ctx: AppContext,
  token: string,
): Promise<CallbackTarget | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const tokenHash = createHash('sha256').update(token).digest('hex');
  return findCloneJobByCallbackToken(ctx.db, { tokenHash });
}

/**
 * What a callback does, after it was answered: it only wakes the line's poll. The result is
 * never taken from the body (it is unsigned; the poll's query confirms it), so a body that
 * cannot be read still wakes the poll. In order: the run's flag and the kind|model's arrival
 * time in Redis (the flag first, so a poll job queued right after still learns of it), one
 * `callback_received` event per upstream task, then the poll job promoted if it is delayed.
 */
export async function handleCallback(
  ctx: AppContext,
  target: CallbackTarget,
  body: string | undefined,
  log: FastifyBaseLogger,
): Promise<void> {
  let bodyTaskId: string | null = null;
  let event = '';
  try {
    const parsed = parseTaskCallback(body ?? '');
    bodyTaskId = parsed.taskId;
    event = parsed.event;
    ctx.apiMetrics.callbacks.inc({ outcome: 'accepted' });
  } catch (error) {
    if (!isTaskCallbackError(error)) throw error;
    ctx.apiMetrics.callbacks.inc({ outcome: 'unreadable' });
    log.warn(
      { cloneJobId: target.id, reason: error.reason },
      'callback body unreadable; waking the poll',
    );
  }
  const job = { cloneJobId: target.id, run: target.run };
  await noteCallback(ctx.redis, ctx.config.QUEUE_PREFIX, {
    ...job,
    kind: target.kind,
    model: target.request.model,
  });
  const taskId = bodyTaskId ?? target.upstreamTaskId;
  if (taskId !== null) {
    await recordCallbackReceived(ctx.db, {
      tenantId: target.tenantId,
      cloneJobId: target.id,
      taskId,
      detail: {
        event,
        run: target.run,
        ...(bodyTaskId === null ? { body_unreadable: true } : {}),
        // A body naming another task than the line's is recorded as such, never acted on.
        ...(target.upstreamTaskId !== null &&
        bodyTaskId !== null &&
        bodyTaskId !== target.upstreamTaskId
          ? { upstream_task_id: target.upstreamTaskId }
          : {}),
      },
    });
  }
  const promoted = await promotePoll(ctx.queues, job);
  log.debug({ cloneJobId: target.id, run: target.run, taskId, promoted }, 'callback received');
}
