import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * Every queue and the one job each carries: name, payload schema and default options.
 * Producers and workers both parse payloads with these schemas. A field added later must be
 * optional, so jobs already waiting in Redis still validate.
 */

const uuid = z.uuid();

export const cloneSubmitPayload = z.object({
  cloneJobId: uuid,
  tenantId: uuid,
  // The run this job belongs to: a redrive starts run n+1, and a job of an older run is stale.
  run: z.number().int().min(1),
  // Added with voices, optional so submit jobs already queued still validate: failed uploads of
  // a voice's reference file so far (uploads are not paid, so they spend no attempt).
  uploadErrors: z.number().int().min(0).optional(),
});

export const clonePollPayload = z.object({
  cloneJobId: uuid,
  tenantId: uuid,
  run: z.number().int().min(1),
  // Carried here as well as in Postgres, so a crash between queueing the poll and storing the
  // id in Postgres can still be recovered without resubmitting (and paying twice).
  taskId: z.string().min(1),
  submittedAt: z.number().int(),
  polls: z.number().int().min(0).default(0),
  queryErrors: z.number().int().min(0).default(0),
  // Added with voices, optional so poll jobs already queued still validate: the upstream voice
  // id a speech task was submitted with. If upstream then says it has no such voice, the voice
  // is cloned again only if it still has this id (one re-clone per deletion).
  upstreamVoiceId: z.string().min(1).optional(),
});

// Added with the audio store: copies a succeeded task's result into voxline's store, then
// finishes the line. A step of its own, so a slow or failing download retries without
// querying (or paying) upstream again.
export const cloneArchivePayload = z.object({
  cloneJobId: uuid,
  tenantId: uuid,
  run: z.number().int().min(1),
  // Failed downloads so far: retryable ones back off until ARCHIVE_MAX_ATTEMPTS.
  archiveErrors: z.number().int().min(0).default(0),
});

export const webhookDeliveryPayload = z.object({
  deliveryId: uuid,
});

export const deadLetterPayload = z.object({
  sourceQueue: z.string(),
  jobId: z.string(),
  cloneJobId: uuid.optional(),
  deliveryId: uuid.optional(),
  tenantId: uuid,
  attempts: z.number().int().min(0),
  errorCode: z.string(),
  errorMessage: z.string(),
  lastResponse: z.unknown().optional(),
});

// `keep_alive` was added with voices, `retention` with the audio store; `reconcile` jobs
// already scheduled still validate.
export const maintenanceTasks = ['reconcile', 'keep_alive', 'retention'] as const;
export type MaintenanceTask = (typeof maintenanceTasks)[number];

export const maintenancePayload = z.object({
  task: z.enum(maintenanceTasks),
});

// Finished jobs are evidence for a while (Bull Board), then go: Redis must not grow with history,
// which Postgres keeps for good.
const keepCompleted = { age: 3_600, count: 1_000 };
const keepFailed = { age: 7 * 24 * 3_600, count: 10_000 };

export const catalog = {
  cloneSubmit: {
    queue: 'clone-submit',
    job: 'submit',
    payload: cloneSubmitPayload,
    // Upstream failures are decided by the processor (with Postgres as the record); BullMQ's own
    // attempts only cover infrastructure errors such as a database outage mid-step.
    options: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  clonePoll: {
    queue: 'clone-poll',
    job: 'poll',
    payload: clonePollPayload,
    options: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  cloneArchive: {
    queue: 'clone-archive',
    job: 'archive',
    payload: cloneArchivePayload,
    // Download failures are counted by the processor against ARCHIVE_MAX_ATTEMPTS; BullMQ's
    // own attempts only cover infrastructure errors, as for the other clone steps.
    options: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  webhookDelivery: {
    queue: 'webhook-delivery',
    job: 'deliver',
    payload: webhookDeliveryPayload,
    options: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: keepCompleted,
      removeOnFail: keepFailed,
    },
  },
  deadLetter: {
    queue: 'dead-letter',
    job: 'dead-letter',
    payload: deadLetterPayload,
    // Kept longer: this queue is where an operator looks for what went wrong.
    options: {
      attempts: 3,
      removeOnComplete: { age: 14 * 24 * 3_600, count: 50_000 },
      removeOnFail: keepFailed,
    },
  },
  maintenance: {
    queue: 'maintenance',
    job: 'reconcile',
    payload: maintenancePayload,
    options: {
      attempts: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    },
  },
} as const satisfies Record<
  string,
  { queue: string; job: string; payload: z.ZodType; options: JobsOptions }
>;

export type CatalogEntry = keyof typeof catalog;
export type PayloadOf<K extends CatalogEntry> = z.input<(typeof catalog)[K]['payload']>;
export type ParsedPayloadOf<K extends CatalogEntry> = z.output<(typeof catalog)[K]['payload']>;

export const QUEUE_NAMES = Object.values(catalog).map((entry) => entry.queue);

/** BullMQ priorities: lower runs first. One interactive clone must not wait behind a batch. */
export const PRIORITY = { interactive: 1, batch: 10 } as const;

/**
 * BullMQ job ids. They carry the run, so a redriven job gets a new id even while the failed
 * job of the previous run is still kept for inspection.
 */
export const jobIds = {
  submit: (cloneJobId: string, run: number) => `submit-${cloneJobId}-${run}`,
  poll: (cloneJobId: string, run: number) => `poll-${cloneJobId}-${run}`,
  archive: (cloneJobId: string, run: number) => `archive-${cloneJobId}-${run}`,
} as const;

/**
 * The submit step of a clone job's current run, as every producer enqueues it (the API, a
 * redrive, the reconciler, a resubmit): `enqueue(queues, 'cloneSubmit', jobs.map(...))`.
 */
export function submitJob(
  job: { id: string; tenantId: string; run: number; priority: number },
  delayMs?: number,
): { jobId: string; data: PayloadOf<'cloneSubmit'>; options: JobsOptions } {
  return {
    jobId: jobIds.submit(job.id, job.run),
    data: { cloneJobId: job.id, tenantId: job.tenantId, run: job.run },
    options: { priority: job.priority, ...(delayMs !== undefined ? { delay: delayMs } : {}) },
  };
}
