import {
  type Batch,
  batchResource,
  type CloneJob,
  cloneResource,
  countBatchStatuses,
  type Executor,
  findStrandedDeliveries,
  findSubscribedEndpoints,
  getAudioResult,
  insertDeliveries,
  insertWebhookEvent,
} from '@voxline/db';
import { enqueue, type Queues } from '@voxline/queue';
import { v7 } from 'uuid';
import type { EventEnvelope, EventType } from './events.js';

/**
 * Writes an event and one delivery per target inside the caller's transaction (the outbox):
 * the event exists if and only if the state change that caused it committed. Returns the
 * delivery ids to enqueue once the transaction has committed.
 */
export async function recordEvent(
  tx: Executor,
  params: {
    tenantId: string;
    type: EventType;
    data: unknown;
    cloneJobId?: string | null;
    batchId?: string | null;
    /** The clone's or batch's own `webhook_url`, if any. */
    targetUrl?: string | null;
  },
): Promise<string[]> {
  const envelope: EventEnvelope = {
    type: params.type,
    timestamp: new Date().toISOString(),
    data: params.data,
  };
  // `msg_` + a time-ordered id: the `webhook-id` header, identical on every retry.
  const event = await insertWebhookEvent(tx, {
    id: `msg_${v7().replaceAll('-', '')}`,
    tenantId: params.tenantId,
    type: params.type,
    payload: envelope as unknown as Record<string, unknown>,
    cloneJobId: params.cloneJobId ?? null,
    batchId: params.batchId ?? null,
  });
  const endpoints = await findSubscribedEndpoints(tx, {
    tenantId: params.tenantId,
    type: params.type,
  });
  const targets = endpoints.map((e) => ({ endpointId: e.id as string | null, url: e.url }));
  if (params.targetUrl && !targets.some((t) => t.url === params.targetUrl)) {
    targets.push({ endpointId: null, url: params.targetUrl });
  }
  return insertDeliveries(
    tx,
    targets.map((t) => ({ tenantId: params.tenantId, eventId: event.id, ...t })),
  );
}

const CLONE_EVENT: Partial<Record<CloneJob['status'], EventType>> = {
  succeeded: 'clone.succeeded',
  failed: 'clone.failed',
  canceled: 'clone.canceled',
};

/** Records the event for a clone job that just reached a terminal state. */
export async function recordCloneEvent(tx: Executor, job: CloneJob): Promise<string[]> {
  const type = CLONE_EVENT[job.status];
  if (!type) return [];
  const audio =
    job.status === 'succeeded' ? await getAudioResult(tx, { cloneJobId: job.id }) : null;
  return recordEvent(tx, {
    tenantId: job.tenantId,
    type,
    data: cloneResource(job, audio),
    cloneJobId: job.id,
    batchId: job.batchId,
    targetUrl: job.webhookUrl,
  });
}

/** Records `batch.completed` for a batch that just finished (completed or canceled). */
export async function recordBatchCompleted(tx: Executor, batch: Batch): Promise<string[]> {
  const counts = await countBatchStatuses(tx, { batchId: batch.id });
  return recordEvent(tx, {
    tenantId: batch.tenantId,
    type: 'batch.completed',
    data: batchResource(batch, counts),
    batchId: batch.id,
    targetUrl: batch.webhookUrl,
  });
}

/**
 * Queues delivery jobs for committed deliveries (job id = delivery id); the reconciler
 * re-queues any this misses, with `requeueDeliveries`.
 */
export async function enqueueDeliveries(queues: Queues, deliveryIds: string[]): Promise<void> {
  if (deliveryIds.length === 0) return;
  await enqueue(
    queues,
    'webhookDelivery',
    deliveryIds.map((deliveryId) => ({ jobId: deliveryId, data: { deliveryId } })),
  );
}

/**
 * Gives each pending delivery a live job again: for the reconciler (deliveries whose job Redis
 * lost: see `findStrandedDeliveries`) and for redelivery. A plain add is a no-op while a
 * finished job with the same id is still kept for Bull Board, so that one is removed first.
 * A waiting, active or delayed job is live and left alone, unless `now` asks to promote a
 * delayed one (a redelivery runs at once). Returns how many jobs were added or promoted.
 */
export async function requeueDeliveries(
  queues: Queues,
  deliveryIds: string[],
  options: { now?: boolean } = {},
): Promise<number> {
  const queue = queues.webhookDelivery;
  const missing: string[] = [];
  let promoted = 0;
  for (const id of deliveryIds) {
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') {
      await queue.remove(id);
      missing.push(id);
    } else if (state === 'unknown') {
      missing.push(id);
    } else if (state === 'delayed' && options.now) {
      // The job may have left the delayed set since: then it is running, which is as good.
      await (await queue.getJob(id))?.promote().catch(() => undefined);
      promoted += 1;
    }
  }
  await enqueueDeliveries(queues, missing);
  return missing.length + promoted;
}

/**
 * The reconciler's webhook pass: pending deliveries that were due before `olderThan` (now
 * minus a grace period) get a live job again. Returns how many needed one.
 */
export async function requeueStrandedDeliveries(
  db: Executor,
  queues: Queues,
  params: { olderThan: Date; limit: number },
): Promise<number> {
  const stranded = await findStrandedDeliveries(db, params);
  return requeueDeliveries(
    queues,
    stranded.map((d) => d.id),
  );
}
