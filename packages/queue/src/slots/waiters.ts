import type { Queue } from 'bullmq';
import type { RedisClient } from '../connection.js';

// Lower scores are woken first: priority, then arrival.
const PRIORITY_WEIGHT = 1e13;
// Waiters to try per freed slot: a popped waiter may have gone meanwhile (canceled, removed).
const MAX_WAKE_TRIES = 5;

/**
 * Submit jobs that found every upstream slot taken. Each parks itself as a delayed job (with a
 * long safety delay) and registers here; whoever frees a slot promotes the first waiter, so a
 * slot is handed over in one round trip, without thousands of jobs polling the semaphore.
 */
export class SlotWaiters {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly queue: Queue,
  ) {}

  async add(bullJobId: string, priority: number): Promise<void> {
    await this.redis.zadd(this.key, priority * PRIORITY_WEIGHT + Date.now(), bullJobId);
  }

  /** Promotes the first waiter still parked; false when there was none. */
  async wakeOne(): Promise<boolean> {
    for (let i = 0; i < MAX_WAKE_TRIES; i++) {
      const [id] = await this.redis.zpopmin(this.key);
      if (!id) return false;
      const job = await this.queue.getJob(id);
      if (!job) continue;
      try {
        await job.promote();
        return true;
      } catch {
        // Not delayed any more (already running, or its safety delay fired): try the next.
      }
    }
    return false;
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.key);
  }
}
