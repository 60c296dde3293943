import { batchCost, batches, cloneJobs, webhookEvents } from '@voxline/db';
import { waitFor } from '@voxline/testing';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SIM_KEY, startHarness } from './harness.js';
import { cloneTasksOf, createVoice, readVoice, submitSpeech } from './voice-fixtures.js';

const LINES = 1_000;
const LIMIT = 20;

describe('a 1,000-line speech batch on one voice', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sim: { maxInFlight: LIMIT, durations: { baseMs: 30, perCharMs: 0.5, sigma: 0.2 } },
      env: { RUNNINGHUB_MAX_IN_FLIGHT: String(LIMIT) },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const texts = (batch: string) =>
    Array.from({ length: LINES }, (_, i) => `Line ${i} of batch ${batch}, in one voice.`);

  async function runBatch(voiceId: string, name: string) {
    const before = h.sim.stats();
    const { ids, batchId } = await submitSpeech(h, voiceId, texts(name), { batch: true });
    const rows = await h.waitTerminal(ids, 180_000);
    const after = h.sim.stats();
    return { ids, batchId: batchId as string, rows, before, after };
  }

  it('makes one voice-clone submit and 1,000 speech submits; none more once the voice is ready', async () => {
    const { voice } = await createVoice(h);
    const first = await runBatch(voice.id, 'one');
    expect(first.rows.filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(first.after.cloneSubmits - first.before.cloneSubmits).toBe(1);
    expect(first.after.speechSubmits - first.before.speechSubmits).toBe(LINES);
    expect(first.after.inFlight.max[h.sim.keyLabel(SIM_KEY)]).toBeLessThanOrEqual(LIMIT);
    const ready = await readVoice(h, voice.id);
    expect(ready.status).toBe('ready');
    const used = new Set(
      first.rows.map((r) => h.sim.task(r.upstreamTaskId as string)?.customVoiceId),
    );
    expect([...used]).toEqual([ready.upstreamVoiceId]);

    const second = await runBatch(voice.id, 'two');
    expect(second.rows.filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(second.after.cloneSubmits - second.before.cloneSubmits).toBe(0);
    expect(second.after.speechSubmits - second.before.speechSubmits).toBe(LINES);
    expect(await cloneTasksOf(h, voice.id)).toHaveLength(1);

    // voxline's own accounting against what the simulator billed.
    const ours = [...first.rows, ...second.rows].reduce((sum, r) => sum + (r.actualCost ?? 0), 0);
    const billed = second.after.billed.speech - first.before.billed.speech;
    expect(ours).toBeCloseTo(billed, 4);
    const estimated = [...first.rows, ...second.rows].reduce((sum, r) => sum + r.estimatedCost, 0);
    expect(ours).toBeCloseTo(estimated, 4);

    // The batch completes with its cost in its event.
    await waitFor('the batch to complete', async () => {
      const [b] = await h.db.db.select().from(batches).where(eq(batches.id, first.batchId));
      return b?.status === 'completed' ? b : undefined;
    });
    const cost = await batchCost(h.db.db, { tenantId: h.tenantId, batchId: first.batchId });
    expect(cost.actual).toBeCloseTo(
      first.rows.reduce((sum, r) => sum + (r.actualCost ?? 0), 0),
      4,
    );
    const [event] = await h.db.db
      .select()
      .from(webhookEvents)
      .where(
        and(eq(webhookEvents.batchId, first.batchId), eq(webhookEvents.type, 'batch.completed')),
      );
    expect(event?.payload).toMatchObject({ data: { cost: { currency: 'CNY' } } });
    const speechLines = await h.db.db
      .select()
      .from(cloneJobs)
      .where(inArray(cloneJobs.id, first.ids));
    expect(speechLines.every((l) => l.kind === 'speech' && l.voiceId === voice.id)).toBe(true);
    expect(await h.runtime.context.slots.inUse()).toBe(0);
  }, 400_000);
});
