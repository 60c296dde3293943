import { audioResults, batches, cloneJobs } from '@voxline/db';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SIM_KEY, startHarness } from './harness.js';

const SLOTS = 16;

describe('a batch of 1,000 lines', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sim: { maxInFlight: SLOTS, durations: { baseMs: 30, perCharMs: 0.5, sigma: 0.3 } },
      env: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS) },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('succeeds line by line without ever exceeding the upstream limit, then completes the batch', async () => {
    const texts = Array.from(
      { length: 1_000 },
      (_, i) => `Chapter one, line ${i}: it was a bright cold day.`,
    );
    const { ids, batchId } = await h.submit(texts, { batch: true });
    const rows = await h.waitTerminal(ids, 240_000);
    expect(rows.filter((r) => r.status === 'succeeded')).toHaveLength(1_000);
    const [audio] = await h.db.db
      .select({ n: count() })
      .from(audioResults)
      .innerJoin(cloneJobs, eq(cloneJobs.id, audioResults.cloneJobId))
      .where(eq(cloneJobs.batchId, batchId as string));
    expect(audio?.n).toBe(1_000);

    const stats = h.sim.stats();
    const label = h.sim.keyLabel(SIM_KEY);
    expect(stats.inFlight.max[label]).toBeLessThanOrEqual(SLOTS);
    // voxline queued locally instead of bursting: upstream never had to say "full".
    expect(stats.rejected['421'] ?? 0).toBe(0);
    expect(stats.accepted).toBe(1_000);
    expect(stats.duplicateSubmissions).toBe(0);
    expect(await h.runtime.context.slots.inUse()).toBe(0);

    const [batch] = await h.db.db
      .select()
      .from(batches)
      .where(eq(batches.id, batchId as string));
    expect(batch?.status).toBe('completed');
  }, 240_000);
});
