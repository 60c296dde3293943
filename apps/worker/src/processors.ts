import { parsePayload } from '@voxline/queue';
import type { Job } from 'bullmq';
import { archiveStep } from './clone/archive.js';
import { pollStep } from './clone/poll.js';
import { submitStep } from './clone/submit.js';
import type { WorkerContext } from './context.js';
import { reconcile } from './reconciler.js';
import { purgeExpiredAudio } from './retention.js';
import { settle } from './step.js';
import { keepVoicesAlive } from './voices/keep-alive.js';

// Thin processors: parse the payload with the catalog's schema, run the step, and settle its
// outcome with BullMQ.

export const processSubmit = (ctx: WorkerContext) => async (job: Job, token?: string) =>
  settle(job, token, await submitStep(ctx, job.id ?? '', parsePayload('cloneSubmit', job.data)));

export const processPoll = (ctx: WorkerContext) => async (job: Job, token?: string) =>
  settle(job, token, await pollStep(ctx, job.id ?? '', parsePayload('clonePoll', job.data)));

export const processArchive = (ctx: WorkerContext) => async (job: Job, token?: string) =>
  settle(job, token, await archiveStep(ctx, job.id ?? '', parsePayload('cloneArchive', job.data)));

export const processMaintenance = (ctx: WorkerContext) => async (job: Job) => {
  const { task } = parsePayload('maintenance', job.data);
  if (task === 'keep_alive') {
    const lines = await keepVoicesAlive(ctx);
    if (lines) ctx.logger.info({ lines }, 'keep-alive lines queued for kept voices');
    return { lines };
  }
  if (task === 'retention') {
    const files = await purgeExpiredAudio(ctx);
    if (files) ctx.logger.info({ files }, 'stored audio past AUDIO_RETENTION_DAYS deleted');
    return { files };
  }
  const report = await reconcile(ctx);
  if (
    report.requeued ||
    report.batchesCompleted ||
    report.deliveriesRequeued ||
    report.voicesRepaired
  )
    ctx.logger.info(report, 'reconciler repaired state');
  return report;
};

/** Dead letters are records for operators: log them loudly and keep them (retention) for Bull Board. */
export const processDeadLetter = (ctx: WorkerContext) => async (job: Job) => {
  const record = parsePayload('deadLetter', job.data);
  ctx.logger.warn(
    {
      jobId: record.cloneJobId ?? record.deliveryId,
      tenantId: record.tenantId,
      code: record.errorCode,
      source: record.sourceQueue,
    },
    `dead letter: ${record.errorMessage}`,
  );
};
