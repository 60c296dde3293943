import type { CloneJob, SlotScheduling } from '@voxline/db';
import { DEFAULT_ACCOUNT, type FairWaiter, fairOrderKey, slotHolder } from '@voxline/queue';

// What a task of a kind, model and length never seen yet is charged: a typical speech task.
const DEFAULT_COST_SECONDS = 10;

/**
 * The account a queued line runs on: a speech line of a voxline voice on the voice's (a voice
 * exists upstream only for the key that cloned it), every other line on its tenant's current
 * one (its own key, or the shared account).
 */
export function lineAccount(scheduling: SlotScheduling): string {
  return scheduling.voiceAccount ?? scheduling.tenantAccount ?? DEFAULT_ACCOUNT;
}

/**
 * The line as the fair scheduler sees it: charged its expected upstream seconds, in its
 * tenant's weight, interactive before batch, then batch and line order (a single line by its
 * own creation).
 */
export function slotWaiter(
  job: CloneJob,
  bullJobId: string,
  scheduling: SlotScheduling,
  /** The poll schedule's expected duration of the task; null when none is known yet. */
  expectedMs: number | null,
): FairWaiter {
  const orderKey = scheduling.batchCreatedAt
    ? fairOrderKey(scheduling.batchCreatedAt, job.lineIndex ?? 0)
    : fairOrderKey(job.createdAt);
  return {
    tenant: job.tenantId,
    bullJobId,
    holder: slotHolder(job),
    priority: job.priority,
    orderKey,
    costSeconds: expectedMs && expectedMs > 0 ? expectedMs / 1000 : DEFAULT_COST_SECONDS,
    weight: Math.max(1, scheduling.weight),
  };
}
