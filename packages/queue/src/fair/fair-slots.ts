import type { RedisClient } from '../connection.js';
import { DEFAULT_ACCOUNT } from '../slots/keys.js';
import { type FairSlotKeys, fairSlotKeys, keyList } from './keys.js';
import type { LuaScript } from './lua.js';
import { ACQUIRE, ENQUEUE_MANY, LEASE, PARKED, RELEASE, REMOVE } from './scripts.js';
import { type FairWaiter, SEPARATOR, waiterArgs } from './waiter.js';

export interface FairSlotsOptions {
  redis: RedisClient;
  prefix: string;
  account?: string;
  /** Tasks the account may have running upstream at once. */
  limit: number;
  /**
   * The lease a grant takes for a parked line, until its job runs and renews it. It must outlast
   * the park's safety delay: a job whose promotion was lost (its promoter died) runs at the end
   * of that delay and must still find its slot.
   */
  grantLeaseMs: number;
  /** The clock of lease expiries; simulations drive it, production leaves Date.now. */
  now?: () => number;
}

/** A slot taken for a waiting line: promote its job (see handOver). */
export interface Grant {
  bullJobId: string;
  holder: string;
  tenant: string;
  /** The lease the grant took: forfeit frees it only while it is still this one. */
  leaseExpiry: number;
}

export interface AcquireResult {
  /** The asking job has the slot and goes on. Otherwise it parks (it is registered already). */
  granted: boolean;
  /** Slots granted to other lines in the same decision, to promote. */
  promote: Grant[];
}

// Waiters per rebuild script call: each call is one bounded reply and a short Redis pause.
const REBUILD_CHUNK = 500;

/** Lines waiting per tenant on one account, for readers that schedule nothing (metrics). */
export async function fairWaitingByTenant(
  redis: RedisClient,
  prefix: string,
  account: string = DEFAULT_ACCOUNT,
): Promise<Map<string, number>> {
  const keys = fairSlotKeys(prefix, account);
  const out = new Map<string, number>();
  for (const tenant of await redis.zrange(keys.tenants, 0, -1)) {
    out.set(
      tenant,
      await redis.zlexcount(keys.waiting, `[${tenant}${SEPARATOR}`, `(${tenant}\u0001`),
    );
  }
  return out;
}

/**
 * One upstream account's slots, shared fairly between tenants: the lease semaphore of
 * UpstreamSlots (same lease set, same limit and expiry rules) plus waiting lines per tenant,
 * and every decision that hands a slot over is one Lua script (scripts.ts has the algorithm).
 * The methods return grants; the caller promotes their jobs (handOver), so a simulation can
 * drive the scheduler without BullMQ.
 */
export class FairSlots {
  readonly keys: FairSlotKeys;
  private readonly redis: RedisClient;
  private readonly limit: number;
  private readonly grantLeaseMs: number;
  private readonly now: () => number;
  private readonly keyArgs: string[];
  private readonly prefix: string;
  private readonly account: string;

  constructor(options: FairSlotsOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.limit = options.limit;
    this.grantLeaseMs = options.grantLeaseMs;
    this.now = options.now ?? Date.now;
    this.keys = fairSlotKeys(options.prefix, this.account);
    this.keyArgs = keyList(this.keys);
  }

  /**
   * An active job asks for a slot: it gets one (or renews the one a grant took for it) when it
   * is next in fair order; otherwise it is registered and should park, then call `parked`.
   */
  async acquire(waiter: FairWaiter, leaseMs: number): Promise<AcquireResult> {
    const now = this.now();
    const reply = await this.run(ACQUIRE, [
      now,
      now + leaseMs,
      now + this.grantLeaseMs,
      this.limit,
      ...waiterArgs(waiter),
    ]);
    return { granted: reply[0] === 1, promote: grants(reply.slice(1)) };
  }

  /**
   * Call once the job is parked (delayed), since only a parked job can be promoted. Returns the
   * grants to promote; the job's own comes first when a slot was granted to it on its way.
   */
  async parked(waiter: FairWaiter): Promise<Grant[]> {
    const now = this.now();
    const reply = await this.run(PARKED, [
      now,
      now + this.grantLeaseMs,
      this.limit,
      ...waiterArgs(waiter),
    ]);
    return grants(reply);
  }

  /** Frees `holder`'s slot and grants every free slot to the next lines. */
  async release(holder: string): Promise<Grant[]> {
    return this.free(holder, '');
  }

  /** A slot may be free (a lease expired, the limit grew): grants every free slot. */
  async decide(): Promise<Grant[]> {
    return this.free('', '');
  }

  /**
   * Gives back a grant whose job cannot take it up (gone or finished), unless its job renewed
   * the lease meanwhile, and grants the slot to the next line.
   */
  async forfeit(grant: Grant): Promise<Grant[]> {
    return this.free(grant.holder, String(grant.leaseExpiry));
  }

  /** Renews a live lease; false when the holder has none (it lapsed and was reclaimed). */
  async renew(holder: string, leaseMs: number): Promise<boolean> {
    return (await this.lease(holder, leaseMs, 'renew')) === 1;
  }

  /** Holds a slot whatever the count, for a task already running upstream (as UpstreamSlots). */
  async hold(holder: string, leaseMs: number): Promise<void> {
    await this.lease(holder, leaseMs, 'hold');
  }

  /** Takes a line out of the waiting list (canceled); true when it was waiting. */
  async remove(bullJobId: string): Promise<boolean> {
    const [removed] = await this.run(REMOVE, [bullJobId]);
    return removed === 1;
  }

  /**
   * Re-creates the waiting lists from the lines Postgres says are waiting: adds the lines that
   * are missing and leaves the rest (waiting or holding a slot) alone, so it can run any time,
   * any number of times. Returns how many were added and the grants of any slot found free.
   */
  async rebuild(waiters: FairWaiter[]): Promise<{ added: number; promote: Grant[] }> {
    let added = 0;
    for (let i = 0; i < waiters.length; i += REBUILD_CHUNK) {
      const args = waiters.slice(i, i + REBUILD_CHUNK).flatMap(waiterArgs);
      const [count] = await this.run(ENQUEUE_MANY, [this.now(), ...args]);
      added += Number(count);
    }
    return { added, promote: await this.decide() };
  }

  /** Sets a tenant's weight now (an admin change), without waiting for its next waiter. */
  async setWeight(tenant: string, weight: number): Promise<void> {
    if (!Number.isFinite(weight) || weight <= 0) throw new RangeError('weight: must be > 0');
    await this.redis.hset(this.keys.weights, tenant, String(weight));
  }

  /** Slots held by live leases. */
  inUse(): Promise<number> {
    return this.redis.zcount(this.keys.leases, this.now(), '+inf');
  }

  /** Lines waiting, in all or of one tenant. */
  waiting(tenant?: string): Promise<number> {
    if (tenant === undefined) return this.redis.hlen(this.keys.jobs);
    return this.redis.zlexcount(this.keys.waiting, `[${tenant}${SEPARATOR}`, `(${tenant}\u0001`);
  }

  /** Lines waiting per tenant with any (metrics). */
  waitingByTenant(): Promise<Map<string, number>> {
    return fairWaitingByTenant(this.redis, this.prefix, this.account);
  }

  /** Tenants with waiting lines. */
  tenantsWaiting(): Promise<number> {
    return this.redis.zcard(this.keys.tenants);
  }

  private async free(holder: string, expected: string): Promise<Grant[]> {
    const now = this.now();
    const args = [now, now + this.grantLeaseMs, this.limit, holder, expected];
    return grants(await this.run(RELEASE, args));
  }

  private async lease(holder: string, leaseMs: number, mode: 'renew' | 'hold'): Promise<unknown> {
    const now = this.now();
    const [held] = await this.run(LEASE, [now, holder, now + leaseMs, mode]);
    return held;
  }

  private async run(script: LuaScript, args: Array<string | number>): Promise<Array<unknown>> {
    const reply = await script.run(this.redis, this.keyArgs, args);
    return Array.isArray(reply) ? reply : [reply];
  }
}

// Grants come back flat from Lua: job id, holder, tenant, lease expiry, four per grant.
function grants(flat: unknown[]): Grant[] {
  const out: Grant[] = [];
  for (let i = 0; i + 3 < flat.length; i += 4) {
    out.push({
      bullJobId: String(flat[i]),
      holder: String(flat[i + 1]),
      tenant: String(flat[i + 2]),
      leaseExpiry: Number(flat[i + 3]),
    });
  }
  return out;
}
