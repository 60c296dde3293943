import { SYSTEM_VOICES } from '@voxline/runninghub';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import {
  CONTROL,
  KEY,
  OTHER_KEY,
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

const HOUR = 3_600_000;
// validBody's text is 25 characters: base 1000 + 10 a character.
const CLONE_MS = 1_250;
// validSpeech's text is 19 characters.
const LINE_MS = 1_190;
const LATER = 10_000;

/** Submits a clone of `voiceId` for the key; it succeeds CLONE_MS after `clock.now`. */
async function clone(sim: SimulatorHandle, voiceId: string, key = KEY) {
  const answer = await submit(sim, validBody({ custom_voice_id: voiceId }), key);
  expect(answer.json?.errorCode).toBe('');
  return answer.json?.taskId as string;
}

/** Submits a line in `voiceId` and reads its end, LATER ms on. */
async function lineEnd(
  sim: SimulatorHandle,
  clock: { now: number },
  voiceId: string,
  key = KEY,
): Promise<Record<string, unknown>> {
  const answer = await speak(sim, validSpeech({ voice_id: voiceId }), 'speech-02-turbo', key);
  expect(answer.json?.errorCode).toBe('');
  clock.now += LATER;
  return (await query(sim, answer.json?.taskId as string, key)).json ?? {};
}

async function control(sim: SimulatorHandle, method: string, path: string, token = CONTROL) {
  const res = await fetch(`${sim.url}/_sim${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const missing = { status: 'FAILED', errorCode: '2054', errorMessage: 'voice id not exist' };

describe('voices', () => {
  it('exist once their clone succeeded: a line before that fails with 2054', async () => {
    const { sim, clock } = await start();
    await clone(sim, 'voiceA0001');
    const submitted = T0 + CLONE_MS - 1;
    clock.now = submitted;
    // Looked up at submit: the clone is still running, so this line fails at its own end.
    const early = await speak(sim, validSpeech({ voice_id: 'voiceA0001' }));
    const earlyId = early.json?.taskId as string;
    expect(early.json?.status).toBe('QUEUED');
    clock.now = submitted + LINE_MS - 1;
    expect((await query(sim, earlyId)).json?.status).toBe('RUNNING');
    clock.now += 1;
    expect((await query(sim, earlyId)).json).toMatchObject({ ...missing, results: null });
    expect(sim.task(earlyId)).toMatchObject({ status: 'FAILED', errorCode: '2054' });

    const used = clock.now;
    expect(await lineEnd(sim, clock, 'voiceA0001')).toMatchObject({ status: 'SUCCESS' });
    expect(sim.voices()).toEqual([
      {
        voiceId: 'voiceA0001',
        key: sim.keyLabel(KEY),
        createdAt: T0 + CLONE_MS,
        lastUsedAt: used,
        expiresAt: used + 7 * 24 * HOUR,
        alive: true,
      },
    ]);
  });

  it('never exist when their clone fails or is cancelled', async () => {
    const { sim, clock } = await start();
    await submit(sim, validBody({ custom_voice_id: 'voiceB0001', text: 'x [[sim:task=1043]]' }));
    const cancelled = await clone(sim, 'voiceB0002');
    const cancel = await fetch(`${sim.url}/task/openapi/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: KEY, taskId: cancelled }),
    });
    expect(((await cancel.json()) as { code: number }).code).toBe(0);
    clock.now = T0 + LATER;
    expect(await lineEnd(sim, clock, 'voiceB0001')).toMatchObject(missing);
    expect(await lineEnd(sim, clock, 'voiceB0002')).toMatchObject(missing);
    expect(sim.voices()).toEqual([]);
  });

  it('are always there for the system voices', async () => {
    const { sim, clock } = await start();
    for (const name of SYSTEM_VOICES.slice(0, 3)) {
      expect(await lineEnd(sim, clock, name)).toMatchObject({ status: 'SUCCESS' });
    }
    expect(sim.voices()).toEqual([]);
  });

  it("belong to their key: another key's voice is unknown", async () => {
    const { sim, clock } = await start();
    await clone(sim, 'voiceC0001');
    clock.now = T0 + LATER;
    expect(await lineEnd(sim, clock, 'voiceC0001', OTHER_KEY)).toMatchObject(missing);
    expect(await lineEnd(sim, clock, 'voiceC0001', KEY)).toMatchObject({ status: 'SUCCESS' });
  });

  it('are forgotten once unused for the TTL; a line keeps one alive', async () => {
    const { sim, clock } = await start({ voiceTtlMs: HOUR });
    await clone(sim, 'voiceD0001');
    const born = T0 + CLONE_MS;
    clock.now = born + HOUR - 1;
    // A line just before the TTL is a use: the voice lives another hour from now.
    expect(await lineEnd(sim, clock, 'voiceD0001')).toMatchObject({ status: 'SUCCESS' });
    const used = born + HOUR - 1;
    clock.now = used + HOUR - 1;
    expect(sim.voices()[0]).toMatchObject({ lastUsedAt: used, alive: true });
    clock.now = used + HOUR;
    expect(sim.voices()[0]).toMatchObject({ alive: false, expiresAt: used + HOUR });
    expect(await lineEnd(sim, clock, 'voiceD0001')).toMatchObject(missing);

    // Cloned again under the same id (allowed here), it lives again, from its new clone.
    sim.setScenario({ duplicateVoiceId: 'allow' });
    await clone(sim, 'voiceD0001');
    const reborn = clock.now + CLONE_MS;
    clock.now = reborn;
    expect(sim.voices()).toEqual([
      expect.objectContaining({ createdAt: reborn, lastUsedAt: reborn, alive: true }),
    ]);
    expect(await lineEnd(sim, clock, 'voiceD0001')).toMatchObject({ status: 'SUCCESS' });
  });

  it('take a TTL change from the scenario at once', async () => {
    const { sim, clock } = await start();
    await clone(sim, 'voiceE0001');
    clock.now = T0 + CLONE_MS + 2 * HOUR;
    expect(sim.voices()[0]?.alive).toBe(true);
    sim.setScenario({ voiceTtlMs: HOUR });
    expect(sim.scenario()).toMatchObject({ voiceTtlMs: HOUR, voiceMissingAt: 'task' });
    expect(sim.voices()[0]?.alive).toBe(false);
    expect(() => sim.setScenario({ voiceMissingAt: 'query' as 'task' })).toThrow(/voiceMissingAt/);
    expect(() => sim.setScenario({ voiceTtlMs: 0 })).toThrow(/voiceTtlMs/);
  });

  it('are forgotten at once by DELETE /_sim/voices/<id>, behind the control token', async () => {
    const { sim, clock } = await start();
    await clone(sim, 'voiceF0001');
    await clone(sim, 'voiceF0001', OTHER_KEY);
    await clone(sim, 'voiceF0002');
    clock.now = T0 + LATER;
    expect((await control(sim, 'GET', '/voices', 'wrong-token')).status).toBe(401);
    const listed = await control(sim, 'GET', '/voices');
    expect(listed.status).toBe(200);
    expect((listed.json.voices as Array<{ voiceId: string }>).map((v) => v.voiceId)).toEqual([
      'voiceF0001',
      'voiceF0001',
      'voiceF0002',
    ]);
    expect((await control(sim, 'DELETE', '/voices/voiceF0001', 'wrong-token')).status).toBe(401);
    expect(await control(sim, 'DELETE', '/voices/voiceF0001')).toEqual({
      status: 200,
      json: { ok: true },
    });
    expect((await control(sim, 'DELETE', '/voices/voiceF0001')).status).toBe(404);
    expect(await lineEnd(sim, clock, 'voiceF0001')).toMatchObject(missing);
    expect(await lineEnd(sim, clock, 'voiceF0001', OTHER_KEY)).toMatchObject(missing);
    expect(await lineEnd(sim, clock, 'voiceF0002')).toMatchObject({ status: 'SUCCESS' });
    expect(sim.voices().map((v) => v.voiceId)).toEqual(['voiceF0002']);
    expect(sim.forgetVoice('voiceF0002')).toBe(true);
    expect(sim.forgetVoice('voiceF0002')).toBe(false);
  });

  it('answers an unknown voice at submit with voiceMissingAt "submit"', async () => {
    const { sim, clock } = await start({ voiceMissingAt: 'submit' });
    const refused = await speak(sim, validSpeech({ voice_id: 'voiceG0001' }));
    expect(refused.json).toMatchObject({
      taskId: '',
      status: '',
      errorCode: '2054',
      errorMessage: 'voice id not exist',
    });
    await clone(sim, 'voiceG0001');
    clock.now = T0 + CLONE_MS;
    expect(await lineEnd(sim, clock, 'voiceG0001')).toMatchObject({ status: 'SUCCESS' });
    expect(sim.stats()).toMatchObject({ rejected: { '2054': 1 }, speechSubmits: 1 });
    // Back to failing as a task, from the scenario.
    sim.setScenario({ voiceMissingAt: 'task' });
    expect(await lineEnd(sim, clock, 'voiceG0002')).toMatchObject(missing);
  });

  it('are dropped by a reset', async () => {
    const { sim, clock } = await start();
    await clone(sim, 'voiceH0001');
    clock.now = T0 + LATER;
    expect(sim.voices()).toHaveLength(1);
    sim.reset();
    expect(sim.voices()).toEqual([]);
    expect(await lineEnd(sim, clock, 'voiceH0001')).toMatchObject(missing);
  });
});
