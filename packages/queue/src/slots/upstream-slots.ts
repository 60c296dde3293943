import type { Queue } from 'bullmq';
import type { RedisClient } from '../connection.js';
import { DEFAULT_ACCOUNT, type SlotKeys, slotKeys } from './keys.js';
import { ACQUIRE } from './scripts.js';
import { SlotWaiters } from './waiters.js';

export interface UpstreamSlotsOptions {
  redis: RedisClient;
  prefix: string;
  /** Tasks the account may have running upstream at once (RUNNINGHUB_MAX_IN_FLIGHT). */
  limit: number;
  /** The clone-submit queue: a freed slot promotes a submit job parked there. */
  submitQueue: Queue;
  account?: string;
}

/**
 * The upstream concurrency limit of one account as a Redis semaphore shared by every worker
 * process: a sorted set of holders scored by lease expiry. A slot is held from just before
 * submit until the task is seen terminal; each step renews the lease to cover the wait until
 * the next step. Jobs that find it full park as waiters, and a release wakes the first.
 */
export class UpstreamSlots {
  private readonly redis: RedisClient;
  private readonly keys: SlotKeys;
  private readonly limit: number;
  private readonly waiters: SlotWaiters;

  constructor(options: UpstreamSlotsOptions) {
    this.redis = options.redis;
    this.limit = options.limit;
    this.keys = slotKeys(options.prefix, options.account ?? DEFAULT_ACCOUNT);
    this.waiters = new SlotWaiters(options.redis, this.keys.waiters, options.submitQueue);
  }

  /** Takes (or renews) a slot for `holder` until `leaseMs` from now; false when all are taken. */
  async acquire(holder: string, leaseMs: number): Promise<boolean> {
    return this.run(holder, leaseMs, false);
  }

  /**
   * Registers `waiter`, a submit job that found every slot taken and is now parked as delayed,
   * to be promoted when one frees. Only a parked job can be promoted, so this runs after the
   * move, never before: a release that came between the failed acquire and now woke nobody for
   * it, so a slot found free here wakes the first waiter at once.
   */
  async wait(waiter: { bullJobId: string; priority: number }): Promise<void> {
    await this.waiters.add(waiter.bullJobId, waiter.priority);
    if ((await this.inUse()) < this.limit) await this.waiters.wakeOne();
  }

  /**
   * Holds a slot whatever the count: for a task already running upstream, which occupies an
   * upstream slot whether or not we account for it (its lease lapsed while workers were down).
   */
  async hold(holder: string, leaseMs: number): Promise<void> {
    await this.run(holder, leaseMs, true);
  }

  /** Frees `holder`'s slot and promotes the first waiter into it. */
  async release(holder: string): Promise<void> {
    await this.redis.zrem(this.keys.leases, holder);
    await this.waiters.wakeOne();
  }

  /** Slots held by live leases. */
  inUse(): Promise<number> {
    return this.redis.zcount(this.keys.leases, Date.now(), '+inf');
  }

  /** Submit jobs parked for a slot. */
  waiting(): Promise<number> {
    return this.waiters.count();
  }

  private async run(holder: string, leaseMs: number, force: boolean): Promise<boolean> {
    const now = Date.now();
    const result = await this.redis.eval(
      ACQUIRE,
      1,
      this.keys.leases,
      holder,
      now,
      now + leaseMs,
      this.limit,
      force ? '1' : '0',
    );
    return result === 1;
  }
}

/** Slots held by live leases, for readers that take none (metrics, readiness, tests). */
export function slotsInUse(
  redis: RedisClient,
  prefix: string,
  account: string = DEFAULT_ACCOUNT,
): Promise<number> {
  return redis.zcount(slotKeys(prefix, account).leases, Date.now(), '+inf');
}
