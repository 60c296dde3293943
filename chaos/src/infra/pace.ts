import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Random } from '@voxline/runninghub-sim';

/**
 * Only for pacing fault injection (when to strike next), never to wait for an outcome: outcomes
 * are waited for with `waitFor`.
 */
export function pause(ms: number): Promise<void> {
  return sleepFor(ms);
}

export function between(random: Random, min: number, max: number): number {
  return Math.round(min + random() * (max - min));
}
