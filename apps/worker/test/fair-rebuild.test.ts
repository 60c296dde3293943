import { fairSlotKeys } from '@voxline/queue';
import { waitFor } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../src/reconciler.js';
import { type Harness, startHarness } from './harness.js';
import { addTenant, postLines } from './tenant-fixtures.js';

const LINES = 30;

describe('the fair waiting lists rebuilt from Postgres', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sim: { durations: { baseMs: 200, perCharMs: 0, sigma: 0 }, maxInFlight: 10 },
      // No safety delay fires during the test: only a promotion moves a parked line.
      env: { SLOT_PARK_MS: '600000' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lets every line run after Redis forgot who waits', async () => {
    const tenant = await addTenant(h, 'forgotten');
    const ids = await postLines(h, tenant, Array(LINES).fill('A line whose wait Redis forgot.'));
    const { slots } = h.runtime.context;
    await waitFor('the lines to wait', async () =>
      (await slots.waiting()) >= LINES - 6 ? true : undefined,
    );
    const keys = fairSlotKeys(h.redis.prefix);
    await h.redis.redis.del(keys.waiting, keys.jobs, keys.tenants);
    expect(await slots.waiting()).toBe(0);

    const report = await reconcile(h.runtime.context);
    expect(report.slotWaitersAdded).toBeGreaterThanOrEqual(LINES - 6);
    // Again: nothing is missing now.
    expect((await reconcile(h.runtime.context)).slotWaitersAdded).toBe(0);
    const rows = await h.waitTerminal(ids, 60_000);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    expect(await slots.inUse()).toBe(0);
    expect(await slots.waiting()).toBe(0);
  }, 120_000);
});
