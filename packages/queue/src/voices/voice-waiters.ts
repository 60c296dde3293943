import type { Queue } from 'bullmq';
import type { RedisClient } from '../connection.js';

// Members popped per round trip when a voice's clone ends: a 10,000-line batch waiting on
// one voice is woken in ten rounds, each a bounded reply.
const WAKE_CHUNK = 1_000;

/**
 * Speech lines waiting for their voice's clone. A line that finds its voice `cloning` parks
 * its submit job as delayed (holding no upstream slot) and registers here, in a set per voice;
 * whoever ends the clone (ready or failed) promotes every waiter, which then submits with the
 * new upstream id or fails with the voice's error. The park delay is only the safety net for a
 * lost wake-up. Keys start with the queue prefix (a hash tag), like the slot sets.
 */
export class VoiceWaiters {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly submitQueue: Queue,
  ) {}

  private key(voiceId: string): string {
    return `${this.prefix}:voice-waiters:${voiceId}`;
  }

  /** Registers a parked submit job as a waiter of `voiceId` (call only once it is parked). */
  async add(voiceId: string, bullJobId: string): Promise<void> {
    await this.redis.sadd(this.key(voiceId), bullJobId);
  }

  /**
   * Promotes every waiter of `voiceId` still parked; returns how many were promoted. Members are
   * popped, so two callers never promote the same waiter, and one registering meanwhile is either
   * popped here or left for its own re-check (see the submit step).
   */
  async wakeAll(voiceId: string): Promise<number> {
    let promoted = 0;
    for (;;) {
      const ids = await this.redis.spop(this.key(voiceId), WAKE_CHUNK);
      for (const id of ids) {
        const job = await this.submitQueue.getJob(id);
        if (!job) continue;
        try {
          await job.promote();
          promoted += 1;
        } catch {
          // Not delayed any more (already running, or its safety delay fired): nothing to do.
        }
      }
      if (ids.length < WAKE_CHUNK) return promoted;
    }
  }

  /** Lines registered as waiting for `voiceId`. */
  count(voiceId: string): Promise<number> {
    return this.redis.scard(this.key(voiceId));
  }
}
