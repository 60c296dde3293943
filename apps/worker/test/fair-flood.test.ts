import { waitFor } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshSlotMetrics } from '../src/slot-metrics.js';
import { type Harness, startHarness } from './harness.js';
import { addTenant, postLines } from './tenant-fixtures.js';

const FLOOD = 10_000;
const TASK_MS = 300;
const TEXT = 'A line of the flood, and of the small tenant behind it.';

describe('a small tenant behind a flood', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sim: { durations: { baseMs: TASK_MS, perCharMs: 0, sigma: 0 }, maxInFlight: 10 },
      // The flood parks once, for good: no safety delay fires while the test looks.
      env: { SLOT_PARK_MS: '600000' },
    });
    const warmUp = await h.submit([TEXT]);
    await h.waitTerminal(warmUp.ids);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('starts its first line within about one task duration', async () => {
    const big = await addTenant(h, 'flood');
    const small = await addTenant(h, 'small');
    await postLines(h, big, Array(FLOOD).fill(TEXT));
    const fair = h.runtime.context.slots;
    await waitFor(
      'the flood to wait for slots',
      async () => ((await fair.waiting()) >= FLOOD - 100 ? true : undefined),
      { timeoutMs: 240_000, intervalMs: 500 },
    );

    // The same priority as the flood (a batch line): only the fair share puts it first.
    const posted = Date.now();
    const [line] = await postLines(h, small, [TEXT]);
    const row = await waitFor(
      "the small tenant's line to be submitted",
      async () => {
        const [found] = await h.jobs([line as string]);
        return found?.upstreamTaskId ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    const task = h.sim.task(row.upstreamTaskId as string);
    const waited = (task?.runningAt ?? Date.now()) - posted;
    console.log(
      `small tenant's first line started ${waited} ms after it was posted (task ${TASK_MS} ms)`,
    );
    expect(waited).toBeLessThan(TASK_MS * 2 + 500);
    expect(await fair.waitingByTenant()).toEqual(new Map([[big, expect.any(Number)]]));
    // The scrape's view: the flood's waiting lines, the shared account's slots in flight.
    const { metrics, accounts } = h.runtime.context;
    await refreshSlotMetrics(metrics, accounts);
    const waiting = (await metrics.waitingLines.get()).values;
    expect(waiting).toEqual([
      { labels: { tenant: big, account: 'default' }, value: expect.any(Number) },
    ]);
    expect(waiting[0]?.value).toBeGreaterThan(FLOOD - 500);
    const inFlight = (await metrics.tasksInFlight.get()).values;
    expect(inFlight.find((v) => v.labels.account === 'default')?.value).toBeGreaterThan(0);
  }, 300_000);
});
