import type { Config } from '@voxline/config';
import { createDb, type DbHandle } from '@voxline/db';
import type { Logger } from '@voxline/logger';
import { createMetrics, type Metrics } from '@voxline/metrics';
import {
  catalog,
  closeQueues,
  createQueues,
  createRedis,
  redisTarget,
  VoiceWaiters,
} from '@voxline/queue';
import { priceList } from '@voxline/runninghub';
import { publicBaseUrl } from '@voxline/webhooks';
import { type Processor, Worker, type WorkerOptions } from 'bullmq';
import { UpstreamAccounts } from './accounts.js';
import { openWorkerAudio } from './audio.js';
import { PollSchedule } from './clone/poll-schedule.js';
import { SuccessRecorder } from './clone/successes.js';
import type { WorkerContext } from './context.js';
import { scheduleMaintenance } from './maintenance-schedule.js';
import {
  processArchive,
  processDeadLetter,
  processMaintenance,
  processPoll,
  processSubmit,
} from './processors.js';
import { createWebhookDeliveryProcessor } from './webhooks/processor.js';

export interface WorkerRuntime {
  context: WorkerContext;
  workers: Worker[];
  /** Stops taking jobs, lets active steps end (up to SHUTDOWN_TIMEOUT_MS), closes connections. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** The upstream to call; RUNNINGHUB_BASE_URL/RUNNINGHUB_API_KEY when omitted. */
  upstream?: { baseUrl: string; apiKey: string };
  metrics?: Metrics;
  /** Tests run the reconciler themselves; production schedules it. */
  scheduleReconciler?: boolean;
}

/** The one place workers start and stop. */
export async function startWorkers(options: StartOptions): Promise<WorkerRuntime> {
  const { config, logger } = options;
  const upstream = options.upstream ?? {
    baseUrl: config.RUNNINGHUB_BASE_URL ?? '',
    apiKey: config.RUNNINGHUB_API_KEY ?? '',
  };
  if (!upstream.baseUrl || !upstream.apiKey)
    throw new Error('the worker needs RUNNINGHUB_BASE_URL and RUNNINGHUB_API_KEY');
  const metrics = options.metrics ?? createMetrics();
  // First: a bad AUDIO_STORE fails the start before any connection is opened.
  const audio = openWorkerAudio(config, upstream.baseUrl);
  const dbHandle: DbHandle = createDb({
    url: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    applicationName: 'voxline-worker',
  });
  const redis = createRedis(redisTarget(config), 'worker');
  const queues = createQueues(redis, config.QUEUE_PREFIX);
  const accounts = new UpstreamAccounts({
    config,
    db: dbHandle.db,
    redis,
    submitQueue: queues.cloneSubmit,
    metrics,
    upstream,
  });
  const context: WorkerContext = {
    config,
    db: dbHandle.db,
    redis,
    queues,
    slots: accounts.shared.slots,
    accounts,
    voiceWaiters: new VoiceWaiters(redis, config.QUEUE_PREFIX, queues.cloneSubmit),
    prices: priceList(config.RUNNINGHUB_PRICES),
    schedule: new PollSchedule(redis, config.QUEUE_PREFIX, {
      minMs: config.POLL_MIN_INTERVAL_MS,
      maxMs: config.POLL_MAX_INTERVAL_MS,
    }),
    upstream: accounts.shared.client,
    audio: { store: audio.store, options: audio.options },
    // Its groups run with the finished context, after this literal is assigned.
    successes: new SuccessRecorder(() => context),
    cloneEvents: { baseUrl: publicBaseUrl(config) },
    logger,
    metrics,
  };

  const base: WorkerOptions = {
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    // A SIGKILLed worker's active job is found stalled and run again; the steps are written to
    // be re-run, so several stalls are tolerated before BullMQ gives up (the reconciler still
    // recovers a job BullMQ gave up on).
    maxStalledCount: 5,
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.JOB_LOCK_MS,
  };
  const make = (queue: string, processor: Processor, extra: Partial<WorkerOptions> = {}) => {
    const worker = new Worker(queue, processor, { ...base, ...extra });
    worker.on('error', (error) => logger.error({ err: error, queue }, 'worker error'));
    worker.on('failed', (job, error) => {
      if (job && error.name !== 'UnrecoverableError') {
        logger.warn(
          { err: error, queue, jobId: job.id, attemptsMade: job.attemptsMade },
          'job step failed',
        );
      }
    });
    return worker;
  };

  const webhookProcessor = createWebhookDeliveryProcessor({
    config,
    db: dbHandle.db,
    queues,
    logger,
    metrics,
  });
  const workers = [
    make(catalog.cloneSubmit.queue, processSubmit(context), {
      concurrency: config.WORKER_CONCURRENCY,
    }),
    make(catalog.clonePoll.queue, processPoll(context), { concurrency: config.WORKER_CONCURRENCY }),
    // Downloads stream through a fixed buffer each, so as many run as other steps do.
    make(catalog.cloneArchive.queue, processArchive(context), {
      concurrency: config.WORKER_CONCURRENCY,
    }),
    make(catalog.webhookDelivery.queue, webhookProcessor, {
      concurrency: config.WEBHOOK_WORKER_CONCURRENCY,
    }),
    make(catalog.deadLetter.queue, processDeadLetter(context), { concurrency: 5 }),
    make(catalog.maintenance.queue, processMaintenance(context), { concurrency: 1 }),
  ];
  if (options.scheduleReconciler ?? true) {
    const schedule = () => scheduleMaintenance(queues, config);
    await schedule();
    // The schedule lives in Redis. A Redis that comes back empty (no persistence, a failover to
    // an empty replica) has forgotten it, and the reconciler is then the one thing that could
    // re-queue the jobs Redis lost: schedule it again on every reconnect (an idempotent upsert).
    // Found by chaos/test/redis.test.ts ("restarted empty").
    redis.on('ready', () => {
      schedule().catch((error: unknown) =>
        logger.warn({ err: error }, 'could not restore the maintenance schedule'),
      );
    });
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  // Lines parked by a worker without fair shares would sleep their whole safety delay.
  await accounts.shared.slots.promoteLegacyWaiters();

  let closing: Promise<void> | null = null;
  return {
    context,
    workers,
    close() {
      closing ??= (async () => {
        const timeout = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), config.SHUTDOWN_TIMEOUT_MS).unref(),
        );
        const drained = Promise.all(workers.map((w) => w.close())).then(() => 'drained' as const);
        if ((await Promise.race([drained, timeout])) === 'timeout') {
          logger.warn(
            'active steps did not end in time; closing anyway (their jobs will be retried)',
          );
          audio.abort();
          await Promise.all(workers.map((w) => w.close(true)));
        }
        await closeQueues(queues);
        await accounts.close();
        await webhookProcessor.close();
        await audio.close();
        redis.disconnect();
        await dbHandle.close();
      })();
      return closing;
    },
  };
}
