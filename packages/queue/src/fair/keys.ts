import { DEFAULT_ACCOUNT, slotKeys } from '../slots/keys.js';

/**
 * The keys of one account's fair scheduler, in the order every fair script takes them as KEYS.
 * The lease set is the very set `UpstreamSlots` uses (slots/keys.ts), so both count the same
 * slots; the rest carry the same account suffix. Every key starts with the queue prefix, a hash
 * tag: one Redis Cluster slot, shared with the queue whose jobs a decision promotes.
 */
export interface FairSlotKeys {
  /** Sorted set of holders scored by lease expiry (shared with UpstreamSlots). */
  leases: string;
  /**
   * Every waiting line of the account in one sorted set, all scores 0, so members sort byte-wise:
   * tenant, priority, order key, job id. A tenant's next line is one ZRANGEBYLEX away.
   */
  waiting: string;
  /** Hash: BullMQ job id → its member in `waiting` (idempotent enqueue, removal). */
  jobs: string;
  /** Sorted set of tenants with waiting lines, scored by start tag (virtual time). */
  tenants: string;
  /** Hash: tenant → finish tag of its last granted line (kept while it is away). */
  finish: string;
  /** Hash: tenant → weight, as given by its latest waiter. */
  weights: string;
  /** String: the account's virtual time, the start tag of the latest grant. */
  clock: string;
}

export function fairSlotKeys(prefix: string, account: string = DEFAULT_ACCOUNT): FairSlotKeys {
  const suffix = account === DEFAULT_ACCOUNT ? '' : `:${account}`;
  const base = `${prefix}:fair-slots${suffix}`;
  return {
    leases: slotKeys(prefix, account).leases,
    waiting: `${base}:waiting`,
    jobs: `${base}:jobs`,
    tenants: `${base}:tenants`,
    finish: `${base}:finish`,
    weights: `${base}:weights`,
    clock: `${base}:clock`,
  };
}

/** KEYS for a fair script, in the order its prelude names them. */
export function keyList(keys: FairSlotKeys): string[] {
  return [
    keys.leases,
    keys.waiting,
    keys.jobs,
    keys.tenants,
    keys.finish,
    keys.weights,
    keys.clock,
  ];
}
