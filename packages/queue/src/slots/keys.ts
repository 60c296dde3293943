/**
 * A slot set belongs to an upstream account: the RunningHub key whose concurrency it guards.
 * Today a deployment has one, the default account, whose keys are the ones voxline has always
 * used; a per-account set (the fair scheduler's) only adds a suffix. Every key starts with the
 * queue prefix, a hash tag, so a set and its waiters share one Redis Cluster slot with the
 * queues whose jobs they promote.
 */
export const DEFAULT_ACCOUNT = 'default';

export interface SlotKeys {
  /** Sorted set of holders, scored by lease expiry. */
  leases: string;
  /** Sorted set of parked submit jobs (BullMQ job ids), scored by priority then arrival. */
  waiters: string;
}

export function slotKeys(prefix: string, account: string = DEFAULT_ACCOUNT): SlotKeys {
  const suffix = account === DEFAULT_ACCOUNT ? '' : `:${account}`;
  return {
    leases: `${prefix}:upstream-slots${suffix}`,
    waiters: `${prefix}:slot-waiters${suffix}`,
  };
}

/** A slot belongs to one run of a job: a redriven job's new run never inherits an old lease. */
export function slotHolder(job: { id: string; run: number }): string {
  return `${job.id}:${job.run}`;
}
