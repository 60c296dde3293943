import type { Queues, RedisClient } from '@voxline/queue';

type Queue = Queues['webhookDelivery'];

/**
 * Each tenant's lane of the shared `webhook-delivery` queue, in Redis, so one tenant's dead or
 * hanging receiver holds back only that tenant:
 *
 * - **queued**: the tenant's deliveries that have a BullMQ job, at most `maxPending`
 *   (WEBHOOK_MAX_PENDING_PER_TENANT). The rest wait as `pending` rows in Postgres, and are
 *   admitted as the lane drains: Redis holds a bounded share per tenant, Postgres everything.
 * - **active**: attempts in flight, at most `maxActive`, as leases (a crashed worker's lapse).
 *   A job of a tenant at its cap does not take a worker: it parks as a delayed job and is
 *   promoted when one of the tenant's attempts ends, like the upstream slot waiters.
 *
 * Every key starts with the queue prefix, a hash tag: on a Redis Cluster they share a slot
 * with the queue whose jobs they promote, which the scripts below need.
 */

export interface LaneKeys {
  queued: string;
  active: string;
  parked: string;
}

export function laneKeys(prefix: string, tenantId: string): LaneKeys {
  return {
    queued: `${prefix}:webhook-queued:${tenantId}`,
    active: `${prefix}:webhook-active:${tenantId}`,
    parked: `${prefix}:webhook-parked:${tenantId}`,
  };
}

/** Tenants with deliveries held back in Postgres, scored by when that was first noticed. */
export const backlogKey = (prefix: string) => `${prefix}:webhook-backlog`;
/** Tenants that have a lane, for the reconciler's sweep of lanes. */
export const lanesKey = (prefix: string) => `${prefix}:webhook-lanes`;

// KEYS: queued, backlog, lanes. ARGV: cap, now, tenant, ids...
// An id already queued counts as admitted again (its job may have been lost): admitting is
// idempotent, so a retry of the caller, or two callers at once, cannot overshoot the cap.
const ADMIT = `
local cap = tonumber(ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
local admitted = {}
local held = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], id) then
    admitted[#admitted + 1] = id
  elseif count < cap then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    count = count + 1
    admitted[#admitted + 1] = id
  else
    held = held + 1
  end
end
if held > 0 then redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[3]) end
if #admitted > 0 then redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[3]) end
return admitted
`;

// KEYS: active. ARGV: holder, now, lease expiry, cap. Lapsed leases (a worker that died
// mid-attempt) are reclaimed first; a holder already in renews.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
`;

// Parked jobs to try per freed attempt: a popped one may have run meanwhile (safety delay).
const MAX_WAKE_TRIES = 5;

export class TenantLanes {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** The delivery queue: parked jobs are promoted on it. */
    private readonly queue: Queue,
  ) {}

  /** Of `ids` (one tenant's), those that may have a job now; the rest stay in Postgres. */
  async admit(tenantId: string, ids: string[], maxPending: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const keys = laneKeys(this.prefix, tenantId);
    return (await this.redis.eval(
      ADMIT,
      3,
      keys.queued,
      backlogKey(this.prefix),
      lanesKey(this.prefix),
      maxPending,
      Date.now(),
      tenantId,
      ...ids,
    )) as string[];
  }

  /** A delivery that will need no job any more (succeeded, failed, gone) leaves the lane. */
  async leave(tenantId: string, deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length > 0) {
      await this.redis.zrem(laneKeys(this.prefix, tenantId).queued, ...deliveryIds);
    }
  }

  /** Deliveries of the tenant with a job (or about to get one). */
  queued(tenantId: string): Promise<number> {
    return this.redis.zcard(laneKeys(this.prefix, tenantId).queued);
  }

  /** Which of `ids` are in the tenant's lane, in order. */
  async inLane(tenantId: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const scores = await this.redis.zmscore(laneKeys(this.prefix, tenantId).queued, ...ids);
    return scores.map((score) => score !== null);
  }

  /** Marks lane members as checked now, so the next sweep looks at others first. */
  async touch(tenantId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const now = Date.now();
    await this.redis.zadd(
      laneKeys(this.prefix, tenantId).queued,
      'XX',
      ...ids.flatMap((id) => [now, id]),
    );
  }

  /** Lane members admitted (or last checked) before `before`, oldest first: for the sweep. */
  admittedBefore(tenantId: string, before: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(
      laneKeys(this.prefix, tenantId).queued,
      '-inf',
      before,
      'LIMIT',
      0,
      limit,
    );
  }

  /** Takes one of the tenant's attempts until `leaseMs` from now; false when all are taken. */
  async acquire(
    tenantId: string,
    holder: string,
    leaseMs: number,
    maxActive: number,
  ): Promise<boolean> {
    const now = Date.now();
    const result = await this.redis.eval(
      ACQUIRE,
      1,
      laneKeys(this.prefix, tenantId).active,
      holder,
      now,
      now + leaseMs,
      maxActive,
    );
    return result === 1;
  }

  /** Ends an attempt and promotes one of the tenant's parked jobs into its place. */
  async release(tenantId: string, holder: string): Promise<void> {
    await this.redis.zrem(laneKeys(this.prefix, tenantId).active, holder);
    await this.wakeOne(tenantId);
  }

  /**
   * Registers a job that found the tenant at its cap and is now parked (delayed). Runs after
   * the move, never before, since only a delayed job can be promoted: an attempt that ended
   * in between woke nobody for it, so a free attempt found here wakes a parked job at once.
   */
  async park(tenantId: string, jobId: string, maxActive: number): Promise<void> {
    const keys = laneKeys(this.prefix, tenantId);
    await this.redis.zadd(keys.parked, Date.now(), jobId);
    const active = await this.redis.zcount(keys.active, Date.now(), '+inf');
    if (active < maxActive) await this.wakeOne(tenantId);
  }

  /** Attempts of the tenant in flight (live leases). */
  active(tenantId: string): Promise<number> {
    return this.redis.zcount(laneKeys(this.prefix, tenantId).active, Date.now(), '+inf');
  }

  /** Tenants whose deliveries were held back in Postgres, oldest first. */
  backlogged(): Promise<string[]> {
    return this.redis.zrange(backlogKey(this.prefix), 0, -1);
  }

  isBacklogged(tenantId: string): Promise<boolean> {
    return this.redis.zscore(backlogKey(this.prefix), tenantId).then((score) => score !== null);
  }

  /** The tenant's backlog was found empty: admissions no longer need to look for it. */
  async clearBacklog(tenantId: string): Promise<void> {
    await this.redis.zrem(backlogKey(this.prefix), tenantId);
  }

  lanes(): Promise<string[]> {
    return this.redis.zrange(lanesKey(this.prefix), 0, -1);
  }

  /**
   * One worker refills a tenant's lane at a time; others skip (the holder admits for them).
   * The lock lapses on its own should its holder die.
   */
  async lockRefill(tenantId: string, ms: number): Promise<boolean> {
    const key = `${laneKeys(this.prefix, tenantId).queued}:refill`;
    return (await this.redis.set(key, '1', 'PX', ms, 'NX')) === 'OK';
  }

  async unlockRefill(tenantId: string): Promise<void> {
    await this.redis.del(`${laneKeys(this.prefix, tenantId).queued}:refill`);
  }

  /** The backlog scan's position (see admission.ts), or null to start from the oldest. */
  async cursor(tenantId: string): Promise<string | null> {
    return this.redis.get(`${laneKeys(this.prefix, tenantId).queued}:cursor`);
  }

  async setCursor(tenantId: string, cursor: string | null): Promise<void> {
    const key = `${laneKeys(this.prefix, tenantId).queued}:cursor`;
    if (cursor === null) await this.redis.del(key);
    else await this.redis.set(key, cursor);
  }

  private async wakeOne(tenantId: string): Promise<boolean> {
    const key = laneKeys(this.prefix, tenantId).parked;
    for (let i = 0; i < MAX_WAKE_TRIES; i++) {
      const [id] = await this.redis.zpopmin(key);
      if (!id) return false;
      const job = await this.queue.getJob(id);
      if (!job) continue;
      try {
        await job.promote();
        return true;
      } catch {
        // Not delayed any more (its safety delay fired, or it runs): try the next.
      }
    }
    return false;
  }
}
