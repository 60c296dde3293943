import { parsePayload } from '@voxline/queue';
import type { Job } from 'bullmq';
import { pollStep } from './clone/poll.js';
import { submitStep } from './clone/submit.js';
import type { WorkerContext } from './context.js';
import { reconcile } from './reconciler.js';

// Thin processors: parse the payload with the catalog's schema, hand over to the step.

export const processSubmit = (ctx: WorkerContext) => (job: Job, token?: string) =>
  submitStep(ctx, job, token, parsePayload('cloneSubmit', job.data));

export const processPoll = (ctx: WorkerContext) => (job: Job, token?: string) =>
  pollStep(ctx, job, token, parsePayload('clonePoll', job.data));

export const processMaintenance = (ctx: WorkerContext) => async (job: Job) => {
  parsePayload('maintenance', job.data);
  const report = await reconcile(ctx);
  if (report.requeued || report.batchesCompleted || report.deliveriesRequeued)
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
