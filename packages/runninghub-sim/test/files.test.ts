import { afterEach, describe, expect, it } from 'vitest';
import { type SimulatorHandle, WAV_SAMPLE_RATE, wavDurationMs } from '../src/index.js';
import { parseWav, query, startWithClock, submit, validBody } from './helpers.js';

let sim: SimulatorHandle;
afterEach(async () => {
  await sim?.close();
});

/** Submits, moves the clock past the task's end, and returns its result URL ('' if none). */
async function finishedUrl(
  text: string,
  clock: { now: number },
): Promise<{ id: string; url: string }> {
  const id = (await submit(sim, validBody({ text }))).json?.taskId as string;
  clock.now = (sim.task(id)?.finishesAt ?? 0) + 1;
  const results = (await query(sim, id)).json?.results as Array<{ url: string }> | null;
  return { id, url: results?.[0]?.url ?? '' };
}

describe('result audio', () => {
  it('is a 16-bit PCM mono WAV whose duration follows the text', async () => {
    const started = await startWithClock({ maxInFlight: 10 });
    sim = started.sim;
    const durations: number[] = [];
    for (const length of [20, 50, 100]) {
      const { url } = await finishedUrl('a'.repeat(length), started.clock);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/wav');
      const wav = parseWav(Buffer.from(await res.arrayBuffer()));
      expect(wav).toMatchObject({
        format: 1,
        channels: 1,
        sampleRate: WAV_SAMPLE_RATE,
        bitsPerSample: 16,
        blockAlign: 2,
        byteRate: WAV_SAMPLE_RATE * 2,
      });
      // About 60 ms of audio per character.
      expect(wav.durationMs).toBeCloseTo(length * 60, 0);
      durations.push(wav.durationMs);
    }
    expect(durations).toEqual([...durations].sort((a, b) => a - b));
    expect(wavDurationMs(1)).toBeGreaterThan(0);
    expect(wavDurationMs(1_000_000)).toBeLessThanOrEqual(120_000);
    expect(sim.stats().fileDownloads).toBe(3);
  });

  it('is deterministic per task and different between tasks, and not silent', async () => {
    const started = await startWithClock({ maxInFlight: 10 });
    sim = started.sim;
    const a = await finishedUrl('same length text', started.clock);
    const b = await finishedUrl('same length text', started.clock);
    const bytes = async (url: string) => Buffer.from(await (await fetch(url)).arrayBuffer());
    const a1 = await bytes(a.url);
    expect((await bytes(a.url)).equals(a1)).toBe(true);
    const b1 = await bytes(b.url);
    expect(b1.length).toBe(a1.length);
    expect(b1.equals(a1)).toBe(false);
    let peak = 0;
    for (let i = 44; i < a1.length; i += 2) peak = Math.max(peak, Math.abs(a1.readInt16LE(i)));
    expect(peak).toBeGreaterThan(1_000);
  });

  it('expires: 403 for a bad signature, 410 after the link lifetime', async () => {
    const started = await startWithClock({ linkTtlMs: 60_000 });
    sim = started.sim;
    const { id, url } = await finishedUrl('short', started.clock);
    const finished = sim.task(id)?.finishedAt ?? 0;
    started.clock.now = finished + 60_000;
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url.replace(/sig=[^&]+/, 'sig=AAAA'))).status).toBe(403);
    const later = url.replace(/expires=\d+/, `expires=${finished + 999_999_999}`);
    expect((await fetch(later)).status).toBe(403);
    expect((await fetch(`${sim.url}/files/${id}.wav`)).status).toBe(403);
    started.clock.now = finished + 60_001;
    expect((await fetch(url)).status).toBe(410);
  });

  it('serves nothing for a task that has not succeeded', async () => {
    const started = await startWithClock();
    sim = started.sim;
    const { url } = await finishedUrl('will fail [[sim:task=1505]]', started.clock);
    expect(url).toBe('');
    const running = (await submit(sim)).json?.taskId as string;
    expect((await fetch(`${sim.url}/files/${running}.wav?expires=1&sig=x`)).status).toBe(403);
  });
});
