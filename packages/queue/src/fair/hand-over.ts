import type { Queue } from 'bullmq';
import type { FairSlots, Grant } from './fair-slots.js';

// States in which a job will never take up a slot granted to it.
const FINISHED = new Set(['completed', 'failed', 'unknown']);

/**
 * Promotes the parked jobs of `grants`. A job that is not delayed any more is left alone when it
 * is on its way to run (its safety delay fired, or it is still moving to delayed and will find
 * the grant in `parked`): it renews the lease when it asks. A job that is gone or finished
 * forfeits its grant, which goes to the next line. Returns how many jobs were promoted.
 */
export async function handOver(queue: Queue, slots: FairSlots, grants: Grant[]): Promise<number> {
  const pending = [...grants];
  let promoted = 0;
  for (let grant = pending.shift(); grant; grant = pending.shift()) {
    const job = await queue.getJob(grant.bullJobId);
    if (job) {
      try {
        await job.promote();
        promoted += 1;
        continue;
      } catch {
        // Not delayed: see below whether it will still run.
      }
      if (!FINISHED.has(await job.getState())) continue;
    }
    // Each forfeit removes a line that can never run, so this ends.
    pending.push(...(await slots.forfeit(grant)));
  }
  return promoted;
}
