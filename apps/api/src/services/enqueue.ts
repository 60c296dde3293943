import type { CloneJob } from '@voxline/db';
import { enqueue, type Queues, submitJob } from '@voxline/queue';
import { admitDeliveries } from '@voxline/webhooks';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { AppContext } from '../context.js';

/**
 * Adds the submit step of each job's current run. Called after the rows committed: if Redis
 * refuses now, the rows are still durable and `queued`, and the worker's reconciler enqueues
 * them after its grace period, so the request has still succeeded. Logged, not thrown.
 */
export async function enqueueSubmits(
  queues: Queues,
  jobs: Array<Pick<CloneJob, 'id' | 'tenantId' | 'run' | 'priority'>>,
  log: Logger,
): Promise<boolean> {
  if (jobs.length === 0) return true;
  try {
    await enqueue(
      queues,
      'cloneSubmit',
      jobs.map((job) => submitJob(job)),
    );
    return true;
  } catch (error) {
    log.warn(
      { err: error, jobs: jobs.length },
      'committed jobs not enqueued; the reconciler will enqueue them',
    );
    return false;
  }
}

/**
 * Same policy for webhook deliveries: their reconciler re-queues pending ones. They go through
 * their tenant's lane (WEBHOOK_MAX_PENDING_PER_TENANT queued; the rest wait in Postgres).
 */
export async function enqueueDeliveriesLogged(
  ctx: Pick<AppContext, 'db' | 'queues' | 'redis' | 'config'>,
  deliveryIds: string[],
  log: Logger,
): Promise<void> {
  if (deliveryIds.length === 0) return;
  try {
    await admitDeliveries(
      {
        db: ctx.db,
        queues: ctx.queues,
        redis: ctx.redis,
        maxPending: ctx.config.WEBHOOK_MAX_PENDING_PER_TENANT,
      },
      deliveryIds,
    );
  } catch (error) {
    log.warn(
      { err: error, deliveries: deliveryIds.length },
      'committed webhook deliveries not enqueued; the reconciler will enqueue them',
    );
  }
}
