import {
  batchResource,
  type CloneViewOptions,
  cloneResource,
  type EventEnvelope,
  type EventType,
} from '@voxline/contract';
import {
  type AudioResult,
  type Batch,
  batchCost,
  type CloneJob,
  completeBatchIfDone,
  countBatchStatuses,
  type Executor,
  findSubscribedEndpoints,
  getAudioResult,
  insertDeliveries,
  insertWebhookEvents,
} from '@voxline/db';
import { enqueue, type Queues } from '@voxline/queue';
import { v7 } from 'uuid';

export interface EventInput {
  tenantId: string;
  type: EventType;
  data: unknown;
  cloneJobId?: string | null;
  batchId?: string | null;
  /** The clone's or batch's own `webhook_url`, if any. */
  targetUrl?: string | null;
}

/**
 * Writes events and one delivery per target inside the caller's transaction (the outbox): an
 * event exists if and only if the state change that caused it committed. Set-based: one
 * statement for the events, one endpoint lookup per tenant and type, one for the deliveries,
 * so canceling a 10,000-line batch is not 30,000 round trips. Returns the delivery ids to
 * enqueue once the transaction has committed.
 */
export async function recordEvents(tx: Executor, inputs: EventInput[]): Promise<string[]> {
  if (inputs.length === 0) return [];
  const timestamp = new Date().toISOString();
  // `msg_` + a time-ordered id: the `webhook-id` header, identical on every retry.
  const events = inputs.map((input) => ({
    id: `msg_${v7().replaceAll('-', '')}`,
    tenantId: input.tenantId,
    type: input.type,
    payload: { type: input.type, timestamp, data: input.data } satisfies EventEnvelope as Record<
      string,
      unknown
    >,
    cloneJobId: input.cloneJobId ?? null,
    batchId: input.batchId ?? null,
  }));
  // Postgres caps a statement at 65,535 parameters; an event row has seven.
  for (let i = 0; i < events.length; i += 5_000) {
    await insertWebhookEvents(tx, events.slice(i, i + 5_000));
  }

  const subscribers = new Map<string, Array<{ endpointId: string | null; url: string }>>();
  const deliveries: Array<{
    tenantId: string;
    eventId: string;
    endpointId: string | null;
    url: string;
  }> = [];
  for (const [i, input] of inputs.entries()) {
    const key = `${input.tenantId} ${input.type}`;
    let endpoints = subscribers.get(key);
    if (!endpoints) {
      endpoints = (await findSubscribedEndpoints(tx, input)).map((e) => ({
        endpointId: e.id as string | null,
        url: e.url,
      }));
      subscribers.set(key, endpoints);
    }
    const targets = [...endpoints];
    if (input.targetUrl && !targets.some((t) => t.url === input.targetUrl)) {
      targets.push({ endpointId: null, url: input.targetUrl });
    }
    const eventId = (events[i] as { id: string }).id;
    for (const target of targets) deliveries.push({ tenantId: input.tenantId, eventId, ...target });
  }
  const ids: string[] = [];
  for (let i = 0; i < deliveries.length; i += 10_000) {
    ids.push(...(await insertDeliveries(tx, deliveries.slice(i, i + 10_000))));
  }
  return ids;
}

/** One event: see recordEvents. */
export function recordEvent(tx: Executor, input: EventInput): Promise<string[]> {
  return recordEvents(tx, [input]);
}

const CLONE_EVENT: Partial<Record<CloneJob['status'], EventType>> = {
  succeeded: 'clone.succeeded',
  failed: 'clone.failed',
  canceled: 'clone.canceled',
};

/**
 * Records the events of clone jobs that just reached a terminal state, their resources written
 * as the API serves them (`options`: its public address, for `audio.url`). A succeeded job's
 * audio is taken from `audio` when the caller has it (it just wrote it), else read.
 */
export async function recordCloneEvents(
  tx: Executor,
  jobs: CloneJob[],
  options: CloneViewOptions,
  audio: ReadonlyMap<string, AudioResult> = new Map(),
): Promise<string[]> {
  const inputs: EventInput[] = [];
  for (const job of jobs) {
    const type = CLONE_EVENT[job.status];
    if (!type) continue;
    const result =
      job.status === 'succeeded'
        ? (audio.get(job.id) ??
          (await getAudioResult(tx, { tenantId: job.tenantId, cloneJobId: job.id })))
        : null;
    inputs.push({
      tenantId: job.tenantId,
      type,
      data: cloneResource(job, result, options),
      cloneJobId: job.id,
      batchId: job.batchId,
      targetUrl: job.webhookUrl,
    });
  }
  return recordEvents(tx, inputs);
}

/** Records the event for a clone job that just reached a terminal state. */
export function recordCloneEvent(
  tx: Executor,
  job: CloneJob,
  options: CloneViewOptions,
  audio: AudioResult | null = null,
): Promise<string[]> {
  return recordCloneEvents(tx, [job], options, audio ? new Map([[job.id, audio]]) : undefined);
}

/** Records `batch.completed` for a batch that just finished (completed or canceled), with its cost. */
export async function recordBatchCompleted(tx: Executor, batch: Batch): Promise<string[]> {
  const counts = await countBatchStatuses(tx, { tenantId: batch.tenantId, batchId: batch.id });
  const cost = await batchCost(tx, { tenantId: batch.tenantId, batchId: batch.id });
  return recordEvent(tx, {
    tenantId: batch.tenantId,
    type: 'batch.completed',
    data: batchResource(batch, counts, cost),
    batchId: batch.id,
    targetUrl: batch.webhookUrl,
  });
}

/**
 * Finishes a running batch none of whose lines is active (`completed`, or `canceled` when a
 * cancel asked) and records its `batch.completed`, in one transaction (a savepoint when the
 * caller is in one). Returns the deliveries to enqueue once committed, or null when this call
 * did not finish it (a line is still active, or another caller won).
 */
export async function completeBatch(
  db: Executor,
  params: { tenantId: string; batchId: string; status?: 'completed' | 'canceled' },
): Promise<string[] | null> {
  return db.transaction(async (tx) => {
    const batch = await completeBatchIfDone(tx, params);
    return batch ? recordBatchCompleted(tx, batch) : null;
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
 * lost, see `findStrandedDeliveriesPerTenant`) and for redelivery. A plain add is a no-op while a
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
