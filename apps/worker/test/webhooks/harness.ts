import { type Config, loadConfig } from '@voxline/config';
import {
  type CloneRequest,
  createTenant,
  insertCloneJobs,
  newId,
  transitionCloneJob,
} from '@voxline/db';
import { createLogger, type Logger } from '@voxline/logger';
import { catalog, closeQueues, createQueues, createRedis, type Queues } from '@voxline/queue';
import { createTestRedis, type TestDatabase, type TestRedis } from '@voxline/testing';
import { type HostResolver, recordCloneEvent } from '@voxline/webhooks';
import { Worker } from 'bullmq';
import { createWebhookDeliveryProcessor } from '../../src/webhooks/processor.js';

export interface DeliveryRig {
  config: Config;
  redis: TestRedis;
  queues: Queues;
  worker: Worker;
  /** Errors BullMQ saw from the processor, other than the expected DelayedError. */
  failures: Error[];
  close(): Promise<void>;
}

/**
 * A real BullMQ worker on the `webhook-delivery` queue running the production processor, under
 * its own queue prefix, with a compressed schedule (a day of retries in under two minutes) and
 * loopback allowlisted, as local development has it.
 */
export async function startDeliveryRig(
  db: TestDatabase,
  env: Record<string, string> = {},
  resolve?: HostResolver,
  logger: Logger = createLogger({ name: 'webhook-test', level: 'silent' }),
): Promise<DeliveryRig> {
  const redis = await createTestRedis();
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOWLIST: '127.0.0.0/8',
    WEBHOOK_SCHEDULE_SCALE: '1000',
    WEBHOOK_TIMEOUT_MS: '2000',
    ...env,
  });
  const queues = createQueues(redis.redis, redis.prefix);
  const connection = createRedis(redis.url, 'worker');
  const processor = createWebhookDeliveryProcessor({
    config,
    db: db.db,
    queues,
    logger,
    ...(resolve ? { resolve } : {}),
  });
  const worker = new Worker(catalog.webhookDelivery.queue, processor, {
    connection,
    prefix: redis.prefix,
    concurrency: config.WEBHOOK_WORKER_CONCURRENCY,
  });
  const failures: Error[] = [];
  worker.on('failed', (_job, error) => failures.push(error));
  worker.on('error', (error) => failures.push(error));
  await worker.waitUntilReady();
  return {
    config,
    redis,
    queues,
    worker,
    failures,
    async close() {
      await worker.close();
      await processor.close();
      await closeQueues(queues);
      connection.disconnect();
      await redis.cleanup();
    },
  };
}

const request: CloneRequest = {
  audio: 'https://example.com/reference.wav',
  custom_voice_id: 'narrator01',
  text: 'Hello there.',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd',
};

export async function newTenant(db: TestDatabase, name = 'receiver') {
  return (await createTenant(db.db, { name })).tenant;
}

/**
 * A clone job failing, with its `clone.failed` event written in the same transaction: what the
 * clone worker does. Returns the delivery ids, committed but not enqueued.
 */
export async function failCloneJob(db: TestDatabase, tenantId: string, webhookUrl: string | null) {
  const id = newId();
  await insertCloneJobs(db.db, [{ id, tenantId, priority: 1, request, webhookUrl }]);
  return db.db.transaction(async (tx) => {
    const failed = await transitionCloneJob(tx, {
      tenantId,
      id,
      from: ['queued'],
      to: 'failed',
      set: { errorCode: 'MODERATION', errorMessage: 'refused upstream' },
    });
    if (!failed) throw new Error('transition refused');
    return {
      cloneJobId: id,
      deliveryIds: await recordCloneEvent(tx, failed, { baseUrl: 'http://127.0.0.1:3000' }),
    };
  });
}
