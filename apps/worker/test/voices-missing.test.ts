import { cloneJobEvents, voiceEvents } from '@voxline/db';
import { waitFor } from '@voxline/testing';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { cloneTasksOf, createVoice, readVoice, submitSpeech, waitVoice } from './voice-fixtures.js';

describe('a voice upstream forgot mid-batch', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  // Upstream may refuse the speech submit at once, or accept the task and end it FAILED.
  for (const voiceMissingAt of ['submit', 'task'] as const) {
    it(`is cloned again exactly once and every line succeeds (missing at ${voiceMissingAt})`, async () => {
      h.sim.setScenario({ voiceMissingAt });
      const { voice } = await createVoice(h);
      const first = await waitVoice(h, voice.id, 'ready');
      const before = h.sim.stats();
      const { ids } = await submitSpeech(
        h,
        voice.id,
        Array.from({ length: 60 }, (_, i) => `Line ${i} of a batch whose voice is deleted.`),
        { batch: true },
      );
      await waitFor(
        'a few lines to succeed with the first voice',
        async () => {
          const rows = await h.jobs(ids);
          return rows.filter((r) => r.status === 'succeeded').length >= 5 ? true : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 10 },
      );
      expect(h.sim.forgetVoice(first.upstreamVoiceId as string)).toBe(true);

      const rows = await h.waitTerminal(ids);
      expect(rows.filter((r) => r.status !== 'succeeded').map((r) => r.errorCode)).toEqual([]);
      const after = h.sim.stats();
      // One re-clone for the deletion, however many lines met it.
      expect(after.cloneSubmits - before.cloneSubmits).toBe(1);
      const clones = await cloneTasksOf(h, voice.id);
      expect(clones.map((c) => c.status)).toEqual(['succeeded', 'succeeded']);
      const second = await readVoice(h, voice.id);
      expect(second).toMatchObject({ status: 'ready', clones: 2 });
      expect(second.upstreamVoiceId).not.toBe(first.upstreamVoiceId);

      // Every line spoke with one of the voice's two ids; the later ones with the new one.
      const used = new Set(rows.map((r) => h.sim.task(r.upstreamTaskId as string)?.customVoiceId));
      expect([...used].sort()).toEqual([first.upstreamVoiceId, second.upstreamVoiceId].sort());
      // A line that met the deletion spent no attempt on it.
      expect(Math.max(...rows.map((r) => r.attempts))).toBeLessThanOrEqual(
        voiceMissingAt === 'task' ? 2 : 1,
      );
      const kinds = (
        await h.db.db.select().from(voiceEvents).where(eq(voiceEvents.voiceId, voice.id))
      ).map((e) => e.kind);
      expect(kinds).toEqual(['created', 'ready', 'reclone', 'ready']);
      // Some lines met the deletion and went back to queued; exactly one of them re-cloned.
      const missing = await h.db.db
        .select()
        .from(cloneJobEvents)
        .where(
          and(inArray(cloneJobEvents.cloneJobId, ids), eq(cloneJobEvents.kind, 'voice_missing')),
        );
      expect(missing.length).toBeGreaterThanOrEqual(1);
      expect(
        missing.filter((e) => e.detail?.recloneJobId).map((e) => e.detail?.recloneJobId),
      ).toEqual([clones[1]?.id]);
      if (voiceMissingAt === 'task')
        expect(after.tasksByStatus.FAILED ?? 0).toBeGreaterThan(before.tasksByStatus.FAILED ?? 0);
      expect(await h.runtime.context.slots.inUse()).toBe(0);
    });
  }
});
