import { admitDeliveries } from '@voxline/webhooks';
import type { WorkerContext } from './context.js';

/**
 * Queues committed webhook deliveries through their tenants' lanes: each tenant's up to
 * WEBHOOK_MAX_PENDING_PER_TENANT, the rest left pending in Postgres until its backlog drains.
 */
export async function admitCommittedDeliveries(
  ctx: WorkerContext,
  deliveryIds: string[],
): Promise<void> {
  if (deliveryIds.length === 0) return;
  await admitDeliveries(
    {
      db: ctx.db,
      queues: ctx.queues,
      redis: ctx.redis,
      maxPending: ctx.config.WEBHOOK_MAX_PENDING_PER_TENANT,
    },
    deliveryIds,
  );
}
