import {
  type Batch,
  batchResource,
  type CloneJob,
  cloneResource,
  countBatchStatuses,
  type Executor,
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

/** Queues delivery jobs for committed deliveries; the reconciler re-queues any this misses. */
export async function enqueueDeliveries(queues: Queues, deliveryIds: string[]): Promise<void> {
  if (deliveryIds.length === 0) return;
  await enqueue(
    queues,
    'webhookDelivery',
    deliveryIds.map((deliveryId) => ({ jobId: deliveryId, data: { deliveryId } })),
  );
}
