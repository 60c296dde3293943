import {
  type CloneJob,
  findFinishedRunningBatches,
  getCloneJob,
  listStaleActiveCloneJobs,
} from '@voxline/db';
import { enqueue, jobIds, submitJob } from '@voxline/queue';
import { completeBatch, reconcileLanes } from '@voxline/webhooks';
import { archiveJobLive, ensureRunningStep } from './clone/archive-jobs.js';
import type { WorkerContext } from './context.js';
import { admitCommittedDeliveries } from './deliveries.js';
import { rebuildSlotWaiters } from './slot-rebuild.js';
import { repairStuckVoices } from './voices/repair.js';

const PAGE = 500;

export interface ReconcileReport {
  checked: number;
  requeued: number;
  batchesCompleted: number;
  deliveriesRequeued: number;
  voicesRepaired: number;
  /** Lines added back to the fair waiting lists (missing from Redis). */
  slotWaitersAdded: number;
}

/**
 * Postgres is the record, Redis the scheduler: Redis may lose a job (eviction, failover, a crash
 * between two writes). Every active clone job older than the grace period must have a live
 * BullMQ job (a running one its poll job, or its archive job once its result is stored); those
 * without one are queued again. Batches whose lines are all terminal are
 * finished, webhook deliveries whose job was lost are queued again, and voices left `cloning`
 * after their clone task ended take its outcome; the fair waiting lists are rebuilt from the
 * queued lines and free slots handed over. Runs from a BullMQ job
 * scheduler, so one process does it at a time.
 */
export async function reconcile(ctx: WorkerContext): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    checked: 0,
    requeued: 0,
    batchesCompleted: 0,
    deliveriesRequeued: 0,
    voicesRepaired: 0,
    slotWaitersAdded: 0,
  };
  const before = new Date(Date.now() - ctx.config.RECONCILE_GRACE_MS);
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await listStaleActiveCloneJobs(ctx.db, { before, afterId: after, limit: PAGE });
    for (const job of page) {
      report.checked += 1;
      if (await requeueIfLost(ctx, job)) report.requeued += 1;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.id ?? after;
  }

  report.slotWaitersAdded = await rebuildSlotWaiters(ctx);

  for (const found of await findFinishedRunningBatches(ctx.db, { limit: 1_000 })) {
    const deliveries = await completeBatch(ctx.db, found);
    if (deliveries) {
      report.batchesCompleted += 1;
      await admitCommittedDeliveries(ctx, deliveries);
    }
  }
  report.voicesRepaired = await repairStuckVoices(ctx);
  // Deliveries whose job Redis lost, and tenants' backlogs held in Postgres, through the lanes.
  const lanes = await reconcileLanes(
    {
      db: ctx.db,
      queues: ctx.queues,
      redis: ctx.redis,
      maxPending: ctx.config.WEBHOOK_MAX_PENDING_PER_TENANT,
    },
    { olderThan: before, limit: 1_000 },
  );
  report.deliveriesRequeued = lanes.requeued + lanes.admitted;

  if (report.requeued) ctx.metrics.reconciled.inc({ kind: 'clone_job' }, report.requeued);
  if (report.batchesCompleted)
    ctx.metrics.reconciled.inc({ kind: 'batch' }, report.batchesCompleted);
  if (report.voicesRepaired) ctx.metrics.reconciled.inc({ kind: 'voice' }, report.voicesRepaired);
  return report;
}

async function requeueIfLost(ctx: WorkerContext, listed: CloneJob): Promise<boolean> {
  const running = listed.status === 'running';
  // A running line is waiting for its poll job, or, once its result is stored, for its archive.
  if (running && (await archiveJobLive(ctx, listed))) return false;
  const state = running
    ? await ctx.queues.clonePoll.getJobState(jobIds.poll(listed.id, listed.run))
    : await ctx.queues.cloneSubmit.getJobState(jobIds.submit(listed.id, listed.run));
  if (isLive(state)) return false;
  // The page was read before the BullMQ state: a job whose row moved since then has a worker
  // taking it forward (its step just completed), and is not lost.
  const job = await getCloneJob(ctx.db, { tenantId: listed.tenantId, id: listed.id });
  if (
    !job ||
    job.status !== listed.status ||
    job.updatedAt.getTime() !== listed.updatedAt.getTime()
  )
    return false;
  ctx.logger.warn(
    { jobId: job.id, batchId: job.batchId, status: job.status, state },
    'reconciler: re-queueing a job Redis lost',
  );
  if (running) {
    await ensureRunningStep(ctx, job);
    return true;
  }
  // `submitting` with no live job is an interrupted submit: the submit step, run again, applies
  // the ambiguous-submit policy.
  const id = jobIds.submit(job.id, job.run);
  if (state === 'failed' || state === 'completed') await ctx.queues.cloneSubmit.remove(id);
  await enqueue(ctx.queues, 'cloneSubmit', [submitJob(job)]);
  return true;
}

function isLive(state: string): boolean {
  return state !== 'unknown' && state !== 'completed' && state !== 'failed';
}
