import { setTimeout as sleepFor } from 'node:timers/promises';

/**
 * Polls `probe` until it returns something other than undefined/false, or throws after
 * `timeoutMs` naming `what`. The same contract as @voxline/testing's waitFor, which the
 * compiled soak runner cannot import (that package ships TypeScript for vitest only).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await sleepFor(intervalMs);
  }
}

/**
 * Only for pacing fault injection (when to strike next), never to wait for an outcome: outcomes
 * are waited for with `waitFor`.
 */
export function pause(ms: number): Promise<void> {
  return sleepFor(ms);
}

/** A seeded PRNG (mulberry32), so a soak run's fault schedule can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function between(random: () => number, min: number, max: number): number {
  return Math.round(min + random() * (max - min));
}
