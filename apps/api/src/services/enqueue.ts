import type { CloneJob } from '@voxline/db';
import { enqueue, type Queues, submitJob } from '@voxline/queue';
import { enqueueDeliveries } from '@voxline/webhooks';
import type { FastifyBaseLogger as Logger } from 'fastify';

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

/** Same policy for webhook deliveries: their reconciler re-queues pending ones. */
export async function enqueueDeliveriesLogged(
  queues: Queues,
  deliveryIds: string[],
  log: Logger,
): Promise<void> {
  if (deliveryIds.length === 0) return;
  try {
    await enqueueDeliveries(queues, deliveryIds);
  } catch (error) {
    log.warn(
      { err: error, deliveries: deliveryIds.length },
      'committed webhook deliveries not enqueued; the reconciler will enqueue them',
    );
  }
}
