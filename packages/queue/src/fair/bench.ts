import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../connection.js';
import { FairSlots } from './fair-slots.js';
import { fairOrderKey } from './waiter.js';

export interface FairDecisionCost {
  tenants: number;
  decisions: number;
  /** Round trip of one release-and-grant script, client side, in microseconds. */
  meanMicros: number;
  p50Micros: number;
  p99Micros: number;
}

// Slots of the measured account: enough that a release is followed by a real pick each time.
const BENCH_LIMIT = 10;
// Decisions run before timing starts, so the first timings do not include loading the script.
const WARMUP = 50;

/**
 * The cost of one scheduling decision (free a slot, pick the next tenant and line, lease) with
 * `tenants` tenants backlogged, for the bench suite. It runs on keys of its own under `prefix`
 * (a throwaway account) and deletes them after. Not a test: it asserts nothing about time.
 */
export async function measureFairDecision(
  redis: RedisClient,
  prefix: string,
  { tenants, decisions = 2_000 }: { tenants: number; decisions?: number },
): Promise<FairDecisionCost> {
  const account = `bench-${randomBytes(4).toString('hex')}`;
  const slots = new FairSlots({
    redis,
    prefix,
    account,
    limit: BENCH_LIMIT,
    grantLeaseMs: 600_000,
  });
  const perTenant = Math.ceil((WARMUP + decisions + BENCH_LIMIT) / tenants) + 1;
  const waiters = [];
  for (let t = 0; t < tenants; t++) {
    for (let line = 0; line < perTenant; line++) {
      waiters.push({
        tenant: `tenant-${t}`,
        bullJobId: `job-${t}-${line}`,
        holder: `holder-${t}-${line}`,
        priority: 10,
        orderKey: fairOrderKey(0, line),
        // Mixed costs and weights, so tags interleave as in a real backlog.
        costSeconds: 1 + (t % 7),
        weight: 1 + (t % 3),
      });
    }
  }
  try {
    const { promote } = await slots.rebuild(waiters);
    const running = promote.map((g) => g.holder);
    const micros: number[] = [];
    for (let i = 0; i < WARMUP + decisions; i++) {
      const holder = running.shift();
      if (!holder) throw new Error('bench backlog ran dry');
      const started = process.hrtime.bigint();
      const granted = await slots.release(holder);
      if (i >= WARMUP) micros.push(Number(process.hrtime.bigint() - started) / 1_000);
      running.push(...granted.map((g) => g.holder));
    }
    micros.sort((a, b) => a - b);
    const at = (q: number) =>
      micros[Math.min(micros.length - 1, Math.floor(q * micros.length))] ?? 0;
    return {
      tenants,
      decisions,
      meanMicros: micros.reduce((sum, m) => sum + m, 0) / micros.length,
      p50Micros: at(0.5),
      p99Micros: at(0.99),
    };
  } finally {
    await redis.del(...Object.values(slots.keys));
  }
}
