import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import { call, KEY, OTHER_KEY, query, startWithClock, submit, T0, validBody } from './helpers.js';

let sims: SimulatorHandle[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});
async function start(over: Parameters<typeof startWithClock>[0] = {}) {
  const started = await startWithClock(over);
  sims.push(started.sim);
  return started;
}

describe('task lifecycle', () => {
  it('goes QUEUED -> RUNNING -> SUCCESS on the clock, with the contract shapes', async () => {
    const { sim, clock } = await start();
    const text = 'x'.repeat(100);
    const accepted = await submit(sim, validBody({ text }));
    expect(accepted.status).toBe(200);
    const body = accepted.json ?? {};
    // Submit answers with the query shape: a long decimal id, promptTips as a JSON string.
    expect(body.taskId).toMatch(/^\d{19}$/);
    expect(BigInt(body.taskId as string) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(accepted.text).toContain(`"taskId":"${body.taskId}"`);
    expect(body).toMatchObject({
      status: 'QUEUED',
      errorCode: '',
      errorMessage: '',
      results: null,
    });
    expect(body.clientId).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(body.promptTips as string)).toMatchObject({ result: true });
    const id = body.taskId as string;

    // sigma 0: exactly base 1000 + 10 per char = 2000 ms, the first 10% queued.
    const task = sim.task(id);
    expect(task).toMatchObject({ runningAt: T0 + 200, finishesAt: T0 + 2_000, textLength: 100 });
    clock.now = T0 + 199;
    expect((await query(sim, id)).json?.status).toBe('QUEUED');
    clock.now = T0 + 200;
    expect((await query(sim, id)).json?.status).toBe('RUNNING');
    clock.now = T0 + 1_999;
    expect((await query(sim, id)).json?.status).toBe('RUNNING');
    clock.now = T0 + 2_000;
    const done = (await query(sim, id)).json ?? {};
    expect(done).toMatchObject({ taskId: id, status: 'SUCCESS', errorCode: '' });
    const results = done.results as Array<{ url: string; outputType: string }>;
    expect(results).toHaveLength(1);
    expect(results[0]?.outputType).toBe('wav');
    expect(results[0]?.url).toMatch(
      new RegExp(`^${sim.url}/files/${id}\\.wav\\?expires=\\d+&sig=`),
    );
    expect(done.usage).toMatchObject({ consumeMoney: '3.12', thirdPartyConsumeMoney: '3.12' });
    expect(sim.task(id)).toMatchObject({ status: 'SUCCESS', finishedAt: T0 + 2_000, queries: 4 });
  });

  it('answers SUCCESS at once when the task takes no time', async () => {
    const { sim } = await start({ durations: { baseMs: 0, perCharMs: 0, sigma: 0 } });
    const body = (await submit(sim)).json ?? {};
    expect(body.status).toBe('SUCCESS');
    expect(body.results).toHaveLength(1);
  });

  it('makes durations grow with the text: base + perChar * length when sigma is 0', async () => {
    const { sim } = await start({
      maxInFlight: 10,
      durations: { baseMs: 300, perCharMs: 7, sigma: 0 },
    });
    for (const length of [1, 10, 400]) {
      const id = (await submit(sim, validBody({ text: 'a'.repeat(length) }))).json
        ?.taskId as string;
      expect(sim.task(id)?.finishesAt).toBe(T0 + 300 + 7 * length);
    }
  });

  it('keeps durations reproducible across many tasks of one run', async () => {
    const run = async (seed = 42) => {
      const { sim } = await start({
        seed,
        maxInFlight: 100,
        durations: { baseMs: 500, perCharMs: 5, sigma: 0.4 },
      });
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        const id = (await submit(sim, validBody({ text: 'b'.repeat(i * 10 + 1) }))).json
          ?.taskId as string;
        const t = sim.task(id);
        out.push((t?.finishesAt ?? 0) - (t?.createdAt ?? 0));
      }
      return out;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(await run(43)).not.toEqual(first);
    // The log-normal factor has median 1: about half the tasks land above base + perChar * len.
    const above = first.filter((d, i) => d > 500 + 5 * (i * 10 + 1)).length;
    expect(above).toBeGreaterThan(3);
    expect(above).toBeLessThan(17);
  });
});

describe('markers and key errors', () => {
  it('fails a task with [[sim:task=CODE]], with failedReason', async () => {
    const { sim, clock } = await start();
    const id = (await submit(sim, validBody({ text: 'Hi [[sim:task=2042]]' }))).json
      ?.taskId as string;
    clock.now = T0 + 60_000;
    const body = (await query(sim, id)).json ?? {};
    expect(body).toMatchObject({ status: 'FAILED', errorCode: '2042', results: null });
    expect(body.errorMessage).not.toBe('');
    expect(body.failedReason).toMatchObject({ exception_message: body.errorMessage });
    expect(sim.task(id)?.textLength).toBe(3);
  });

  it('rejects the submit with [[sim:submit=CODE]] and keeps a task running with [[sim:never]]', async () => {
    const { sim, clock } = await start();
    const rejected = await submit(sim, validBody({ text: 'No [[sim:submit=1505]]' }));
    expect(rejected.status).toBe(200);
    expect(rejected.json).toMatchObject({
      taskId: '',
      errorCode: '1505',
      errorMessage: 'REAL_PERSON_PROHIBITED',
    });
    const id = (await submit(sim, validBody({ text: '[[sim:never]] stuck' }))).json
      ?.taskId as string;
    clock.now = T0 + 365 * 86_400_000;
    expect((await query(sim, id)).json?.status).toBe('RUNNING');
    expect(sim.task(id)).toMatchObject({ finishesAt: null, finishedAt: null });
    expect(sim.stats().rejected).toEqual({ '1505': 1 });
  });

  it('takes a fixed duration from [[sim:duration=MS]] and refuses unknown markers', async () => {
    const { sim } = await start();
    const id = (await submit(sim, validBody({ text: 'a[[sim:duration=5]]' }))).json
      ?.taskId as string;
    expect(sim.task(id)?.finishesAt).toBe(T0 + 5);
    const typo = await submit(sim, validBody({ text: 'a[[sim:tsak=2039]]' }));
    expect(typo.json).toMatchObject({ errorCode: '301' });
    expect(typo.json?.errorMessage).toContain('[[sim:tsak=2039]]');
  });

  it('fails every submit of a key listed in keyErrors', async () => {
    const { sim } = await start({ keyErrors: { [OTHER_KEY]: '416' } });
    expect((await submit(sim, validBody(), OTHER_KEY)).json).toMatchObject({
      errorCode: '416',
      errorMessage: 'BALANCE_NOT_ENOUGH',
    });
    expect((await submit(sim)).json?.errorCode).toBe('');
    sim.setScenario({ keyErrors: { [KEY]: '801' } });
    expect((await submit(sim)).json?.errorCode).toBe('801');
  });

  it('fails a second task for a voice id the key already has (2039), unless allowed', async () => {
    const { sim, clock } = await start();
    const body = validBody({ custom_voice_id: 'sameVoice7' });
    const first = (await submit(sim, body)).json?.taskId as string;
    const second = (await submit(sim, { ...body, text: 'other words' })).json?.taskId as string;
    const otherKey = (await submit(sim, body, OTHER_KEY)).json?.taskId as string;
    clock.now = T0 + 60_000;
    expect((await query(sim, first)).json?.status).toBe('SUCCESS');
    expect((await query(sim, second)).json).toMatchObject({ status: 'FAILED', errorCode: '2039' });
    expect((await query(sim, otherKey, OTHER_KEY)).json?.status).toBe('SUCCESS');
    sim.setScenario({ duplicateVoiceId: 'allow' });
    const third = (await submit(sim, body)).json?.taskId as string;
    clock.now = T0 + 120_000;
    expect((await query(sim, third)).json?.status).toBe('SUCCESS');
  });
});

describe('requests', () => {
  it('validates the body with the contract rules', async () => {
    const { sim } = await start({ voiceIdMinLength: 8 });
    const bad = await submit(
      sim,
      validBody({ model: 'speech-01', custom_voice_id: 'Elegant_Man' }),
    );
    expect(bad.json?.errorCode).toBe('301');
    expect(bad.json?.errorMessage).toContain('model must be one of');
    expect(bad.json?.errorMessage).toContain('custom_voice_id must contain a digit');
    const stringBool = await submit(sim, validBody({ need_noise_reduction: 'false' }));
    expect(stringBool.json?.errorMessage).toContain('need_noise_reduction must be a JSON boolean');
    expect(sim.stats()).toMatchObject({ submits: 2, accepted: 0, rejected: { '301': 2 } });
  });

  it('checks Bearer keys against the list, or accepts any key without one', async () => {
    const { sim } = await start({ apiKeys: [KEY] });
    expect((await submit(sim, validBody(), null)).status).toBe(401);
    expect((await submit(sim, validBody(), 'not-a-listed-key')).json?.errorCode).toBe('802');
    expect((await submit(sim)).json?.errorCode).toBe('');
    const open = (await start()).sim;
    expect((await submit(open, validBody(), 'whatever-key')).json?.errorCode).toBe('');
    expect((await submit(open, validBody(), null)).status).toBe(401);
  });

  it('answers an unknown, foreign or forgotten task with 1004 and its id echoed', async () => {
    const { sim } = await start();
    const notFound = (taskId: string) => ({
      taskId,
      status: '',
      errorCode: '1004',
      errorMessage: 'Task not found or expired',
      results: null,
      failedReason: {},
      usage: null,
    });
    const unknown = await query(sim, '1999999999999999999');
    expect(unknown.status).toBe(200);
    expect(unknown.json).toEqual(notFound('1999999999999999999'));
    const id = (await submit(sim)).json?.taskId as string;
    expect((await query(sim, id, OTHER_KEY)).json).toEqual(notFound(id));
    expect((await query(sim, id)).json?.status).toBe('QUEUED');
    expect(sim.forgetTask(id)).toBe(true);
    expect(sim.forgetTask(id)).toBe(false);
    expect((await query(sim, id)).json).toEqual(notFound(id));
    expect(sim.task(id)).toBeNull();
    expect(sim.stats().queries).toMatchObject({ total: 4, unknown: 3 });
  });

  it('answers a malformed or missing task id with 1007 and taskId ""', async () => {
    const { sim } = await start();
    for (const body of [{ taskId: 'abc123' }, { taskId: '' }, {}]) {
      const res = await call(sim, '/openapi/v2/query', body);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ taskId: '', status: '', errorCode: '1007', results: null });
    }
  });

  it('cancels a running task through the v1 endpoint, freeing its slot', async () => {
    const { sim, clock } = await start({ maxInFlight: 1 });
    const id = (await submit(sim)).json?.taskId as string;
    expect((await submit(sim)).json?.errorCode).toBe('421');
    const wrongKey = await call(
      sim,
      '/task/openapi/cancel',
      { apiKey: OTHER_KEY, taskId: id },
      null,
    );
    expect(wrongKey.json).toMatchObject({ code: 1007 });
    const ok = await call(sim, '/task/openapi/cancel', { apiKey: KEY, taskId: id }, null);
    expect(ok.json).toEqual({ code: 0, msg: 'success', data: null });
    clock.now = T0 + 1;
    expect((await query(sim, id)).json?.status).toBe('CANCEL');
    expect(sim.task(id)).toMatchObject({ status: 'CANCEL', finishedAt: T0 });
    expect((await submit(sim)).json?.errorCode).toBe('');
    const again = await call(sim, '/task/openapi/cancel', { apiKey: KEY, taskId: id }, null);
    expect(again.json?.code).not.toBe(0);
  });
});
