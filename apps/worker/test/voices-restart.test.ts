import { createLogger } from '@voxline/logger';
import { waitFor } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type WorkerRuntime } from '../src/runtime.js';
import { type Harness, SIM_KEY, startHarness } from './harness.js';
import { createVoice, readVoice, submitSpeech } from './voice-fixtures.js';

describe('lines waiting for a voice across a worker restart', () => {
  let h: Harness;
  let next: WorkerRuntime | null = null;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await next?.close();
    await h.close();
  });

  it('go on once the voice is ready, with the workers that replaced the first', async () => {
    const before = h.sim.stats();
    const { voice } = await createVoice(h, { previewText: 'A slow preview [[sim:duration=1200]]' });
    const { ids } = await submitSpeech(h, voice.id, ['One.', 'Two.', 'Three.', 'Four.']);
    await waitFor('the lines parked on the voice', async () =>
      (await h.runtime.context.voiceWaiters.count(voice.id)) === ids.length ? true : undefined,
    );
    // Every worker stops while the clone runs upstream; new ones take over.
    await h.runtime.close();
    expect((await readVoice(h, voice.id)).status).toBe('cloning');
    next = await startWorkers({
      config: h.config,
      logger: createLogger({ name: 'test-worker-2', level: 'silent' }),
      upstream: { baseUrl: h.sim.url, apiKey: SIM_KEY },
      scheduleReconciler: false,
    });
    // Well within the lines' safety delay (VOICE_WAIT_PARK_MS, a minute): woken by the clone.
    const rows = await h.waitTerminal(ids, 20_000);
    expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'succeeded'));
    expect((await readVoice(h, voice.id)).status).toBe('ready');
    const after = h.sim.stats();
    expect(after.cloneSubmits - before.cloneSubmits).toBe(1);
    expect(after.speechSubmits - before.speechSubmits).toBe(ids.length);
  });
});
