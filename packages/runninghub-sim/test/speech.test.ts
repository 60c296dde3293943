import { SPEECH_MODELS } from '@voxline/runninghub';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import {
  parseWav,
  query,
  speak,
  startWithClock,
  submit,
  T0,
  validBody,
  validSpeech,
} from './helpers.js';

let sims: SimulatorHandle[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});
async function start(over: Parameters<typeof startWithClock>[0] = {}) {
  const started = await startWithClock({ maxInFlight: 50, ...over });
  sims.push(started.sim);
  return started;
}

// RunningHub's public list (CNY per 1,000 characters): a 100-character line costs a tenth.
const PER_100_CHARS: Record<(typeof SPEECH_MODELS)[number], string> = {
  'speech-02-hd': '0.031',
  'speech-02-turbo': '0.019',
  'speech-2.6-hd': '0.062',
  'speech-2.6-turbo': '0.037',
  'speech-2.8-hd': '0.062',
  'speech-2.8-turbo': '0.037',
};

describe('speech endpoints', () => {
  for (const model of SPEECH_MODELS) {
    it(`${model}: accepts a valid body and succeeds with audio and its price`, async () => {
      const { sim, clock } = await start();
      const text = 'x'.repeat(100);
      const accepted = await speak(sim, validSpeech({ text }), model);
      expect(accepted.status).toBe(200);
      expect(accepted.json).toMatchObject({ status: 'QUEUED', errorCode: '', results: null });
      const id = accepted.json?.taskId as string;
      expect(id).toMatch(/^\d{19}$/);
      expect(sim.task(id)).toMatchObject({ kind: 'speech', model, customVoiceId: 'Wise_Woman' });

      // sigma 0: base 1000 + 10 per character.
      clock.now = T0 + 2_000;
      const done = (await query(sim, id)).json ?? {};
      expect(done).toMatchObject({ taskId: id, status: 'SUCCESS', errorCode: '' });
      expect(done.usage).toMatchObject({
        consumeMoney: PER_100_CHARS[model],
        thirdPartyConsumeMoney: PER_100_CHARS[model],
      });
      const [result] = done.results as Array<{ url: string; outputType: string }>;
      expect(result?.outputType).toBe('wav');
      const file = await fetch(result?.url ?? '');
      expect(file.status).toBe(200);
      expect(parseWav(Buffer.from(await file.arrayBuffer())).durationMs).toBeGreaterThan(1_000);
      expect(sim.task(id)).toMatchObject({ status: 'SUCCESS', consumeMoney: PER_100_CHARS[model] });
    });
  }

  it('bills characters as code points and renders audio as long as the text', async () => {
    const { sim } = await start({ durations: { baseMs: 0, perCharMs: 0, sigma: 0 } });
    const emoji = await speak(sim, validSpeech({ text: '😀'.repeat(10) }), 'speech-02-turbo');
    expect(emoji.json?.usage).toMatchObject({ consumeMoney: '0.0019' });
    const durations: number[] = [];
    for (const length of [10, 200]) {
      const done = (await speak(sim, validSpeech({ text: 'ab '.repeat(length) }))).json ?? {};
      const [result] = done.results as Array<{ url: string }>;
      const bytes = Buffer.from(await (await fetch(result?.url ?? '')).arrayBuffer());
      durations.push(parseWav(bytes).durationMs);
    }
    expect(durations[1]).toBeGreaterThan((durations[0] ?? 0) * 5);
  });

  it('refuses a body that breaks a field rule, naming the rule, with no task', async () => {
    const { sim } = await start();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ text: '' }, 'text must not be empty'],
      [{ text: 42 }, 'text must be a string'],
      [{ voice_id: undefined }, 'voice_id must be a string'],
      [{ voice_id: '' }, 'voice_id is required'],
      [{ speed: 3 }, 'speed must be between 0.5 and 2'],
      [{ speed: '1' }, 'speed must be a number'],
      [{ volume: 0 }, 'volume must be between 0.1 and 10'],
      [{ pitch: 1.5 }, 'pitch must be an integer'],
      [{ pitch: -13 }, 'pitch must be between -12 and 12'],
      [{ emotion: 'bored' }, 'emotion must be one of'],
      [{ pronunciation_dict: 'ASAP/As soon as possible' }, 'must be a list of strings'],
      [{ pronunciation_dict: ['ASAP'] }, 'entries look like'],
      [{ pronunciation_dict: Array(21).fill('a/b') }, 'at most 20 entries'],
      [{ enable_base64_output: true }, 'enable_base64_output must be false'],
      [{ enable_base64_output: 'false' }, 'enable_base64_output must be false'],
      [{ enable_base64_output: undefined }, 'enable_base64_output is required'],
      [{ english_normalization: undefined }, 'english_normalization is required'],
      [{ english_normalization: 'true' }, 'english_normalization must be a JSON boolean'],
    ];
    for (const [over, message] of cases) {
      const answer = await speak(sim, validSpeech(over));
      expect(answer.status, message).toBe(200);
      expect(answer.json, message).toMatchObject({ taskId: '', status: '', errorCode: '301' });
      expect(answer.json?.errorMessage, message).toContain('PARAMS_INVALID: ');
      expect(answer.json?.errorMessage, message).toContain(message);
    }
    expect((await speak(sim, 'just a string')).json?.errorCode).toBe('301');
    // The same envelope as an invalid voice clone.
    const clone = await submit(sim, validBody({ model: 'nope' }));
    const line = await speak(sim, validSpeech({ speed: 9 }));
    expect(Object.keys(line.json ?? {}).sort()).toEqual(Object.keys(clone.json ?? {}).sort());
    expect(sim.tasks()).toEqual([]);
    expect(sim.stats().rejected).toEqual({ '301': cases.length + 3 });
  });

  it('shares the key limit, faults and scripts of the voice clone', async () => {
    const { sim, clock } = await start({ maxInFlight: 2 });
    await submit(sim);
    await speak(sim);
    expect((await speak(sim)).json?.errorCode).toBe('421');
    clock.now = T0 + 60_000;
    sim.setScenario({ script: { speech: ['http429', { kind: 'taskFail', code: '1005' }] } });
    expect((await speak(sim)).status).toBe(429);
    const failing = (await speak(sim)).json?.taskId as string;
    clock.now += 60_000;
    expect((await query(sim, failing)).json).toMatchObject({ status: 'FAILED', errorCode: '1005' });
    expect(sim.stats().errorsInjected).toEqual({ http429: 1, taskFail: 1 });
  });

  it('counts submits per kind and what upstream billed for tasks that succeeded', async () => {
    const { sim, clock } = await start();
    await submit(sim);
    await submit(sim, validBody({ text: 'fails [[sim:task=1043]]' }));
    await speak(sim, validSpeech({ text: 'y'.repeat(1_000) }), 'speech-02-hd');
    await speak(sim, validSpeech({ text: 'y'.repeat(1_000) }), 'speech-2.6-hd');
    await speak(sim, validSpeech({ text: 'never [[sim:never]]' }));
    const missing = await speak(sim, validSpeech({ voice_id: 'unknownVoice1' }));
    expect(sim.stats()).toMatchObject({
      accepted: 6,
      cloneSubmits: 2,
      speechSubmits: 4,
      billed: { voiceClone: 0, speech: 0 },
    });
    clock.now = T0 + 60_000;
    expect((await query(sim, missing.json?.taskId as string)).json?.status).toBe('FAILED');
    // One clone at 3.12; 1,000 characters at 0.31 and at 0.62.
    expect(sim.stats().billed).toEqual({ voiceClone: 3.12, speech: 0.93 });
    expect(sim.stats().tasksByStatus).toEqual({ SUCCESS: 3, FAILED: 2, RUNNING: 1 });
    sim.reset();
    expect(sim.stats()).toMatchObject({ cloneSubmits: 0, billed: { voiceClone: 0, speech: 0 } });
  });
});
