import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import {
  CONTROL,
  KEY,
  OTHER_KEY,
  query,
  startWithClock,
  submit,
  T0,
  validBody,
} from './helpers.js';

let sim: SimulatorHandle;
afterEach(async () => {
  await sim?.close();
});

async function control(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = CONTROL,
) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.url}/_sim${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('statistics', () => {
  it('counts submits, identical submissions, queries per task and in-flight maxima', async () => {
    const started = await startWithClock({ maxInFlight: 10, duplicateVoiceId: 'allow' });
    sim = started.sim;
    const body = validBody();
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const a = (await submit(sim, body)).json?.taskId as string;
    const b = (await submit(sim, reordered)).json?.taskId as string; // same body, other order
    await submit(sim, body, OTHER_KEY); // same body, other key: not a duplicate
    await submit(sim, validBody()); // a different body
    sim.setScenario({ maxInFlight: 1 });
    await submit(sim, body); // refused (421): a repeated request, but nothing paid twice
    expect(a).not.toBe(b);

    for (let i = 0; i < 5; i++) await query(sim, a);
    await query(sim, b);
    await query(sim, '42');

    const stats = sim.stats();
    expect(stats).toMatchObject({
      submits: 5,
      accepted: 4,
      duplicateSubmissions: 1,
      duplicateRequests: 2,
      rejected: { '421': 1 },
      queries: { total: 7, unknown: 1, perTask: { max: 5, mean: 6 / 4 } },
      tasksByStatus: { QUEUED: 4 },
    });
    expect(stats.inFlight.max).toEqual({ [sim.keyLabel(KEY)]: 3, [sim.keyLabel(OTHER_KEY)]: 1 });

    started.clock.now = T0 + 86_400_000;
    expect(sim.stats().inFlight.current).toEqual({
      [sim.keyLabel(KEY)]: 0,
      [sim.keyLabel(OTHER_KEY)]: 0,
    });
    expect(sim.stats().tasksByStatus).toEqual({ SUCCESS: 4 });
  });

  it('lists tasks with their timings for lag measurements', async () => {
    const started = await startWithClock();
    sim = started.sim;
    const id = (await submit(sim, validBody({ text: 'four' }))).json?.taskId as string;
    started.clock.now = T0 + 5_000;
    await query(sim, id);
    expect(sim.tasks()).toEqual([
      {
        taskId: id,
        key: sim.keyLabel(KEY),
        kind: 'voice_clone',
        customVoiceId: expect.stringMatching(/^narrator\d+$/),
        model: 'speech-02-hd',
        textLength: 4,
        status: 'SUCCESS',
        errorCode: '',
        createdAt: T0,
        runningAt: T0 + 104,
        finishesAt: T0 + 1_040,
        finishedAt: T0 + 1_040,
        queries: 1,
        consumeMoney: '3.12',
      },
    ]);
  });
});

describe('control endpoints', () => {
  it('require the control token', async () => {
    ({ sim } = await startWithClock());
    expect((await control('GET', '/stats', undefined, null)).status).toBe(401);
    expect((await control('GET', '/stats', undefined, KEY)).status).toBe(401);
    expect((await control('POST', '/reset', undefined, 'wrong-token')).status).toBe(401);
  });

  it('set the scenario, read stats and tasks, and reset', async () => {
    const started = await startWithClock({ maxInFlight: 5 });
    sim = started.sim;
    const bad = await control('PUT', '/scenario', { maxInFlight: 0, nonsense: true });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.issues)).toContain('maxInFlight');

    const set = await control('PUT', '/scenario', {
      maxInFlight: 1,
      durations: { baseMs: 10 },
      script: { submit: ['code1011'] },
    });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({
      maxInFlight: 1,
      durations: { baseMs: 10, perCharMs: 10, sigma: 0 },
      script: { submit: [{ kind: 'code', code: '1011' }] },
    });
    expect((await submit(sim)).json?.errorCode).toBe('1011');
    const id = (await submit(sim)).json?.taskId as string;
    expect((await submit(sim)).json?.errorCode).toBe('421');

    const stats = await control('GET', '/stats');
    expect(stats.json).toMatchObject({ submits: 3, accepted: 1, errorsInjected: { code1011: 1 } });
    const tasks = await control('GET', '/tasks');
    expect(tasks.json.tasks).toEqual([expect.objectContaining({ taskId: id, status: 'QUEUED' })]);
    expect((await control('GET', `/tasks/${id}`)).json).toMatchObject({ taskId: id });

    expect((await control('POST', '/reset')).status).toBe(200);
    expect(sim.tasks()).toEqual([]);
    expect(sim.stats()).toMatchObject({ submits: 0, accepted: 0, errorsInjected: {} });
    expect(sim.scenario()).toMatchObject({
      maxInFlight: 5,
      durations: { baseMs: 1_000 },
      script: {},
    });
    expect((await query(sim, id)).json?.errorCode).toBe('1004');
    await submit(sim);
    const fresh = sim.tasks()[0]?.taskId as string;
    expect((await control('DELETE', `/tasks/${fresh}`)).status).toBe(200);
    expect((await control('DELETE', `/tasks/${fresh}`)).status).toBe(404);
    expect(sim.task(fresh)).toBeNull();
  });
});
