import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@voxline/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import { probeCommand } from '../src/synth/process.js';
import { decodeWav } from '../src/wav.js';
import { query, startWithClock, submit, validBody } from './helpers.js';
import { isSpeechLike } from './speech-audio.js';

/** The simulator over HTTP speaking its results with espeak-ng (installed by CI, .ci/run). */

let dir: string;
let sim: SimulatorHandle | undefined;
beforeAll(async () => {
  if ((await probeCommand('espeak-ng')) === null || (await probeCommand('lame')) === null) {
    throw new Error(
      'the spoken-results tests need espeak-ng and lame: apt-get install -y espeak-ng lame (CI does it in .ci/run)',
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'voxline-sim-spoken-'));
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function speaking(over: Parameters<typeof startWithClock>[0] = {}) {
  const started = await startWithClock({
    synth: 'espeak-ng',
    filesDir: join(dir, String(Math.random()).slice(2)),
    maxInFlight: 200,
    ...over,
  });
  sim = started.sim;
  return started;
}

/** Submits the bodies, moves the clock past them all, and returns each result. */
async function results(
  handle: SimulatorHandle,
  clock: { now: number },
  bodies: Array<Record<string, unknown>>,
) {
  const ids = [];
  for (const body of bodies)
    ids.push((await submit(handle, validBody(body))).json?.taskId as string);
  clock.now = Math.max(...ids.map((id) => handle.task(id)?.finishesAt ?? 0)) + 1;
  return Promise.all(
    ids.map(async (id) => {
      const answer = (await query(handle, id)).json ?? {};
      const [result] = answer.results as Array<{ url: string; outputType: string }>;
      const res = await fetch(result?.url ?? '');
      return {
        ...result,
        status: res.status,
        contentType: res.headers.get('content-type'),
        bytes: Buffer.from(await res.arrayBuffer()),
      };
    }),
  );
}

describe('spoken results', () => {
  it('speak the text in the voice of the reference audio, the same on every line', async () => {
    const { sim: handle, clock } = await speaking();
    const text = 'Down the rabbit hole, and what a long way down it was.';
    const [narrator, sameNarrator, other] = await results(handle, clock, [
      { text, audio: 'https://cdn.example.com/narrator.wav', custom_voice_id: 'narrator01-aa1' },
      // voxline suffixes the voice id per attempt: the same reference is the same voice.
      { text, audio: 'https://cdn.example.com/narrator.wav', custom_voice_id: 'narrator01-bb2' },
      { text, audio: 'https://cdn.example.com/villain.wav', custom_voice_id: 'villain01' },
    ]);
    for (const r of [narrator, sameNarrator, other]) {
      expect(r).toMatchObject({ status: 200, outputType: 'wav', contentType: 'audio/wav' });
      expect(r?.url).toMatch(/\/files\/\d+\.wav\?/);
      expect(isSpeechLike(decodeWav(r?.bytes ?? Buffer.alloc(0)))).toBe(true);
    }
    expect(sameNarrator?.bytes.equals(narrator?.bytes ?? Buffer.alloc(0))).toBe(true);
    expect(other?.bytes.equals(narrator?.bytes ?? Buffer.alloc(0))).toBe(false);
  });

  it('renders during the task, off the submit, in a bounded pool; downloads find it ready', async () => {
    const { sim: handle, clock } = await speaking({ synthConcurrency: 1 });
    const bodies = Array.from({ length: 60 }, (_, i) => ({ text: `This is line number ${i}.` }));
    const answers = await Promise.all(bodies.map((body) => submit(handle, validBody(body))));
    expect(answers.every((a) => a.status === 200 && /^\d+$/.test(String(a.json?.taskId)))).toBe(
      true,
    );
    expect(handle.audio()).toMatchObject({ synth: 'espeak-ng', prefetched: 60 });
    await waitFor('every prefetch rendered', () => handle.audio().rendered === 60, {
      timeoutMs: 30_000,
    });
    clock.now += 60_000;
    for (const submitted of answers.slice(0, 5)) {
      const id = String(submitted.json?.taskId);
      const answer = (await query(handle, id)).json ?? {};
      const [result] = answer.results as Array<{ url: string }>;
      expect((await fetch(result?.url ?? '')).status).toBe(200);
    }
    expect(handle.audio()).toMatchObject({ rendered: 60, cacheHits: 5, peakRunning: 1 });
  });

  it('gives MP3 when asked (SIM_AUDIO_FORMAT=mp3), named and typed as such', async () => {
    const { sim: handle, clock } = await speaking({ audioFormat: 'mp3' });
    const [r] = await results(handle, clock, [{ text: 'An MP3 this time.' }]);
    expect(r).toMatchObject({ status: 200, outputType: 'mp3', contentType: 'audio/mpeg' });
    expect(r?.url).toMatch(/\/files\/\d+\.mp3\?/);
    expect(r?.bytes[0]).toBe(0xff);
    const wavName = (r?.url ?? '').replace('.mp3?', '.wav?');
    expect((await fetch(wavName)).status).toBe(404);
  });
});
