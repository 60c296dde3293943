import type { Queue } from 'bullmq';
import type { RedisClient } from '../connection.js';
import { FairSlots } from '../fair/fair-slots.js';
import { handOver } from '../fair/hand-over.js';
import type { FairWaiter } from '../fair/waiter.js';
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
  /**
   * Fair shares between tenants (FAIR_SHARES): the lease a grant takes for a parked line, which
   * must outlast the park's safety delay. Absent: the priority waiters of one list.
   */
  fair?: { grantLeaseMs: number };
}

/**
 * The upstream concurrency limit of one account as a Redis semaphore shared by every worker
 * process: a sorted set of holders scored by lease expiry. A slot is held from just before
 * submit until the task is seen terminal; each step renews the lease to cover the wait until
 * the next step. Jobs that find it full park as waiters; with fair shares each freed slot goes
 * to the tenant furthest behind its weighted share (FairSlots), otherwise to the first waiter
 * by priority and arrival.
 */
export class UpstreamSlots {
  readonly account: string;
  readonly limit: number;
  /** The fair scheduler, when fair shares are on. */
  readonly fair: FairSlots | null;
  private readonly redis: RedisClient;
  private readonly keys: SlotKeys;
  private readonly waiters: SlotWaiters;
  private readonly submitQueue: Queue;

  constructor(options: UpstreamSlotsOptions) {
    this.redis = options.redis;
    this.limit = options.limit;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.submitQueue = options.submitQueue;
    this.keys = slotKeys(options.prefix, this.account);
    this.waiters = new SlotWaiters(options.redis, this.keys.waiters, options.submitQueue);
    this.fair = options.fair
      ? new FairSlots({
          redis: options.redis,
          prefix: options.prefix,
          account: this.account,
          limit: options.limit,
          grantLeaseMs: options.fair.grantLeaseMs,
        })
      : null;
  }

  /**
   * Takes (or renews) a slot for the waiter's holder until `leaseMs` from now; false when it
   * must wait (with fair shares it is registered already and must park, then call `wait`).
   */
  async acquire(waiter: FairWaiter, leaseMs: number): Promise<boolean> {
    if (!this.fair) return this.run(waiter.holder, leaseMs, false);
    const result = await this.fair.acquire(waiter, leaseMs);
    await handOver(this.submitQueue, this.fair, result.promote);
    return result.granted;
  }

  /**
   * Registers `waiter`, a submit job that found every slot taken and is now parked as delayed,
   * to be promoted when one frees. Only a parked job can be promoted, so this runs after the
   * move, never before: a release that came between the failed acquire and now woke nobody for
   * it, so a slot found free here wakes the first waiter at once.
   */
  async wait(waiter: FairWaiter): Promise<void> {
    if (this.fair) {
      await handOver(this.submitQueue, this.fair, await this.fair.parked(waiter));
      return;
    }
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

  /** Frees `holder`'s slot and promotes the next waiter into it. */
  async release(holder: string): Promise<void> {
    if (this.fair) {
      await handOver(this.submitQueue, this.fair, await this.fair.release(holder));
      return;
    }
    await this.redis.zrem(this.keys.leases, holder);
    await this.waiters.wakeOne();
  }

  /**
   * Gives back a slot a line may hold without a task (a grant made while it waited, which it
   * cannot use now: it waits for its voice, or failed before submitting). Frees and wakes only
   * when there was one, so a line that never had a slot does not stir the waiters.
   */
  async forgo(holder: string): Promise<void> {
    if ((await this.redis.zscore(this.keys.leases, holder)) === null) return;
    await this.release(holder);
  }

  /** Takes a canceled line's parked submit out of the waiting list (fair shares only). */
  async remove(bullJobId: string): Promise<void> {
    if (this.fair) await this.fair.remove(bullJobId);
  }

  /**
   * Fair shares: re-creates the waiting lists from the lines Postgres says are waiting and hands
   * over any slot found free (a lease expired, a grant nobody promoted). Returns lines added.
   */
  async rebuild(waiters: FairWaiter[]): Promise<number> {
    if (!this.fair) return 0;
    const { added, promote } = await this.fair.rebuild(waiters);
    await handOver(this.submitQueue, this.fair, promote);
    return added;
  }

  /** Hands over every free slot (the reconciler's tick: leases that lapsed free slots too). */
  async decide(): Promise<void> {
    if (this.fair) await handOver(this.submitQueue, this.fair, await this.fair.decide());
  }

  /**
   * Switching to fair shares: jobs parked in the priority list of an earlier version would wait
   * out their whole safety delay, since nobody pops that list any more. Promotes them all; each
   * asks again and joins the fair lists.
   */
  async promoteLegacyWaiters(): Promise<number> {
    if (!this.fair) return 0;
    let promoted = 0;
    // Each wake pops at least one entry, so this ends.
    while ((await this.waiters.count()) > 0) if (await this.waiters.wakeOne()) promoted += 1;
    return promoted;
  }

  /** Slots held by live leases. */
  inUse(): Promise<number> {
    return this.redis.zcount(this.keys.leases, Date.now(), '+inf');
  }

  /** Submit jobs parked for a slot. */
  waiting(): Promise<number> {
    return this.fair ? this.fair.waiting() : this.waiters.count();
  }

  /** Lines waiting per tenant (fair shares; the priority list does not know tenants). */
  waitingByTenant(): Promise<Map<string, number>> {
    return this.fair ? this.fair.waitingByTenant() : Promise.resolve(new Map());
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
