import { fairSlotKeys, slotKeys } from '@voxline/queue';
import { waitFor } from '@voxline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { addTenant, postLines, slotSecondsIn, tasksByTenant } from './tenant-fixtures.js';

const LINES = 90;
const TEXT = 'One line of the same length for every tenant.';

/**
 * Two tenants backlogged on one account of 3 slots: the share of slot-seconds each gets while
 * both wait, measured from the simulator's own record of when each task ran.
 */
async function measureShares(h: Harness, weights: [number, number], lines: [number, number]) {
  // Tasks are charged their expected seconds: learn them first (a deployment's estimates live
  // in Redis), or lines waiting since before the first estimate carry the default cost.
  const warmUp = await h.submit([TEXT, TEXT]);
  await h.waitTerminal(warmUp.ids);
  const a = await addTenant(h, 'tenant-a', weights[0]);
  const b = await addTenant(h, 'tenant-b', weights[1]);
  // A's batch first: B arrives behind it, as in the issue.
  const aIds = await postLines(h, a, Array(lines[0]).fill(TEXT));
  const bIds = await postLines(h, b, Array(lines[1]).fill(TEXT));
  const rows = await h.waitTerminal([...aIds, ...bIds], 120_000);
  expect(rows.every((r) => r.status === 'succeeded')).toBe(true);

  const tasks = await tasksByTenant(h, [...aIds, ...bIds]);
  const starts = (tenant: string) =>
    tasks.filter((t) => t.tenantId === tenant).map((t) => t.runningAt);
  // Both backlogged: from when each has started a task to the last start of whichever ran out
  // first (after that only one tenant waits, and a work-conserving scheduler gives it all).
  const from = Math.max(Math.min(...starts(a)), Math.min(...starts(b)));
  const to = Math.min(Math.max(...starts(a)), Math.max(...starts(b)));
  const seconds = slotSecondsIn(tasks, from, to);
  const total = (seconds.get(a) ?? 0) + (seconds.get(b) ?? 0);
  const share = (seconds.get(a) ?? 0) / total;
  console.log(
    `weights ${weights.join(':')}: tenant A ${(share * 100).toFixed(1)} % of ${total.toFixed(1)} slot-s over ${((to - from) / 1000).toFixed(1)} s`,
  );
  expect(to - from).toBeGreaterThan(3_000);
  return share;
}

describe('fair shares of one account between tenants', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('gives two backlogged tenants of equal weight half the slot-seconds each', async () => {
    h = await startHarness({
      sim: { durations: { baseMs: 200, perCharMs: 0, sigma: 0 }, maxInFlight: 10 },
    });
    const share = await measureShares(h, [1, 1], [LINES, LINES]);
    expect(share).toBeGreaterThanOrEqual(0.45);
    expect(share).toBeLessThanOrEqual(0.55);
    expect(await h.runtime.context.slots.inUse()).toBe(0);
    expect(await h.runtime.context.slots.waiting()).toBe(0);
  }, 180_000);

  it('gives weights 3:1 three quarters and one quarter', async () => {
    h = await startHarness({
      sim: { durations: { baseMs: 200, perCharMs: 0, sigma: 0 }, maxInFlight: 10 },
    });
    const share = await measureShares(h, [3, 1], [LINES * 2, LINES]);
    expect(share).toBeGreaterThanOrEqual(0.7);
    expect(share).toBeLessThanOrEqual(0.8);
  }, 180_000);

  it('keeps the priority waiters with FAIR_SHARES=false, and never writes the fair lists', async () => {
    h = await startHarness({
      sim: { durations: { baseMs: 100, perCharMs: 0, sigma: 0 }, maxInFlight: 10 },
      env: { FAIR_SHARES: 'false' },
    });
    const { redis, config } = h.runtime.context;
    const a = await addTenant(h, 'tenant-a');
    const b = await addTenant(h, 'tenant-b');
    const aIds = await postLines(h, a, Array(30).fill(TEXT));
    const bIds = await postLines(h, b, Array(5).fill(TEXT));
    // 35 lines on 3 slots: the rest wait, in the priority waiters of before the scheduler.
    await waitFor('lines parked as priority waiters', async () =>
      (await redis.zcard(slotKeys(config.QUEUE_PREFIX).waiters)) > 0 ? true : undefined,
    );
    const rows = await h.waitTerminal([...aIds, ...bIds]);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    const fair = fairSlotKeys(config.QUEUE_PREFIX);
    const written = await Promise.all(
      [fair.waiting, fair.jobs, fair.tenants, fair.finish, fair.weights, fair.clock].map((key) =>
        redis.exists(key),
      ),
    );
    expect(written).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await h.runtime.context.slots.waiting()).toBe(0);
  }, 120_000);
});
