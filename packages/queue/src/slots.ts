import type { Redis } from 'ioredis';

// KEYS[1] = slot set; ARGV = member, now, lease expiry, limit, force.
// Expired leases belong to jobs that vanished (or whose worker died and never came back):
// they are reclaimed before counting. A member already holding a slot just renews it.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
if ARGV[5] == '1' or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
`;

/**
 * The upstream concurrency limit as a Redis semaphore shared by every worker process: a sorted
 * set of clone job ids scored by lease expiry. A slot is held from just before submit until the
 * task is seen terminal; each step renews the lease to cover the wait until the next step.
 */
export class UpstreamSlots {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly limit: number,
  ) {
    this.key = `${prefix}:upstream-slots`;
  }

  /** Takes (or renews) a slot for `holder` until `leaseMs` from now; false when all are taken. */
  async acquire(holder: string, leaseMs: number): Promise<boolean> {
    return this.run(holder, leaseMs, false);
  }

  /**
   * Holds a slot whatever the count: for a task already running upstream, which occupies an
   * upstream slot whether or not we account for it (its lease lapsed while workers were down).
   */
  async hold(holder: string, leaseMs: number): Promise<void> {
    await this.run(holder, leaseMs, true);
  }

  async release(holder: string): Promise<void> {
    await this.redis.zrem(this.key, holder);
  }

  /** Slots held by live leases. */
  async inUse(): Promise<number> {
    return this.redis.zcount(this.key, Date.now(), '+inf');
  }

  private async run(holder: string, leaseMs: number, force: boolean): Promise<boolean> {
    const now = Date.now();
    const result = await this.redis.eval(
      ACQUIRE,
      1,
      this.key,
      holder,
      now,
      now + leaseMs,
      this.limit,
      force ? '1' : '0',
    );
    return result === 1;
  }
}
