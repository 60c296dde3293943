import { RunningHubClient, RunningHubError, type VoiceCloneParams } from '@voxline/runninghub';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import { KEY, query, startWithClock, submit, T0, validBody } from './helpers.js';

let sim: SimulatorHandle;
afterEach(async () => {
  await sim?.close();
});

describe('scripted faults', () => {
  it('consumes one entry per request, in order, per endpoint', async () => {
    ({ sim } = await startWithClock({ maxInFlight: 10 }));
    sim.setScenario({
      script: {
        submit: [
          'http502',
          { kind: 'http', status: 429, retryAfterS: 7 },
          'code1003',
          'none',
          { kind: 'code', code: '1520', message: 'per user limit' },
          'malformedJson',
          'truncatedJson',
          'http500',
        ],
        query: ['code1011', 'unknownTask'],
      },
    });
    const bad = await submit(sim);
    expect(bad.status).toBe(502);
    expect(bad.headers.get('content-type')).toContain('text/html');
    const limited = await submit(sim);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await submit(sim)).json).toMatchObject({ taskId: '', errorCode: '1003' });
    const passed = await submit(sim);
    expect(passed.json?.errorCode).toBe('');
    expect((await submit(sim)).json).toMatchObject({
      errorCode: '1520',
      errorMessage: 'per user limit',
    });

    // Damaged answers come from requests that were processed: the task exists all the same.
    const before = sim.stats().accepted;
    const malformed = await submit(sim);
    expect(malformed.status).toBe(200);
    expect(malformed.json).toBeNull();
    expect(() => JSON.parse(malformed.text)).toThrow();
    const truncated = await submit(sim);
    expect(truncated.json).toBeNull();
    expect(truncated.text.startsWith('{"taskId":"')).toBe(true);
    expect(sim.stats().accepted).toBe(before + 2);
    expect((await submit(sim)).status).toBe(500);
    expect((await submit(sim)).json?.errorCode).toBe(''); // script used up

    const id = passed.json?.taskId as string;
    expect((await query(sim, id)).json?.errorCode).toBe('1011');
    expect((await query(sim, id)).json).toMatchObject({
      taskId: id,
      status: '',
      errorCode: '1004',
    });
    expect((await query(sim, id)).json?.taskId).toBe(id);

    expect(sim.stats().errorsInjected).toEqual({
      http502: 1,
      http429: 1,
      code1003: 1,
      code1520: 1,
      malformedJson: 1,
      truncatedJson: 1,
      http500: 1,
      code1011: 1,
      unknownTask: 1,
    });
  });

  it('counts an ambiguous submit only where a task was created and its answer damaged', async () => {
    ({ sim } = await startWithClock({ maxInFlight: 1, slowResponseMs: 1 }));
    sim.setScenario({ script: { submit: ['slowResponse', 'malformedJson', 'http500', 'none'] } });
    expect((await submit(sim)).json?.errorCode).toBe(''); // accepted, answered late
    expect((await submit(sim)).json).toBeNull(); // refused (421: the one slot is taken), damaged
    expect((await submit(sim)).status).toBe(500); // refused before it was processed
    expect((await submit(sim)).json?.errorCode).toBe('421'); // refused, answered intact
    expect(sim.stats()).toMatchObject({ accepted: 1, ambiguousSubmits: 1 });
  });

  it('fails or freezes the next task with taskFail / taskNeverFinishes', async () => {
    const started = await startWithClock({ maxInFlight: 10, taskFailCode: '1006' });
    sim = started.sim;
    sim.setScenario({
      script: { submit: ['taskFail', { kind: 'taskFail', code: '1044' }, 'taskNeverFinishes'] },
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await submit(sim)).json?.taskId as string);
    started.clock.now = T0 + 86_400_000;
    const statuses = await Promise.all(ids.map(async (id) => (await query(sim, id)).json));
    expect(statuses.map((s) => [s?.status, s?.errorCode])).toEqual([
      ['FAILED', '1006'],
      ['FAILED', '1044'],
      ['RUNNING', ''],
      ['SUCCESS', ''],
    ]);
    expect(sim.stats().errorsInjected).toEqual({ taskFail: 2, taskNeverFinishes: 1 });
  });

  it('refuses a script entry that cannot apply to its endpoint', async () => {
    ({ sim } = await startWithClock());
    expect(() => sim.setScenario({ script: { query: ['taskFail'] } })).toThrow(/does not apply/);
    expect(() => sim.setScenario({ script: { submit: ['unknownTask'] } })).toThrow(
      /does not apply/,
    );
    expect(() => sim.setScenario({ faults: { http500: 2 } })).toThrow();
  });

  it('answers slower than the client timeout, after creating the task', async () => {
    ({ sim } = await startWithClock());
    sim.setScenario({ script: { submit: [{ kind: 'slow', delayMs: 2_000 }] } });
    const client = new RunningHubClient({ baseUrl: sim.url, apiKey: KEY, requestTimeoutMs: 150 });
    try {
      const started = Date.now();
      const error = await client
        .submitVoiceClone(validBody() as VoiceCloneParams)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunningHubError);
      expect(error).toMatchObject({ kind: 'retryable', code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(1_500);
      // The ambiguous submit: the caller saw a timeout, upstream has a task.
      expect(sim.stats().accepted).toBe(1);
      expect(sim.stats().errorsInjected).toEqual({ slowResponse: 1 });
    } finally {
      await client.close();
    }
  });
});

describe('probabilistic faults', () => {
  async function outcomes(seed: number, n: number): Promise<string[]> {
    const started = await startWithClock({
      seed,
      maxInFlight: 1_000,
      faults: { http500: 0.2, code1003: 0.1, truncatedJson: 0.1 },
    });
    sim = started.sim;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await submit(sim);
      out.push(
        r.status !== 200
          ? `http${r.status}`
          : r.json
            ? String(r.json.errorCode || 'ok')
            : 'damaged',
      );
    }
    await sim.close();
    return out;
  }

  it('draws faults from the seed: same seed, same run', async () => {
    const a = await outcomes(11, 200);
    expect(await outcomes(11, 200)).toEqual(a);
    expect(await outcomes(12, 200)).not.toEqual(a);
    const count = (what: string) => a.filter((o) => o === what).length;
    // Tried in order: 0.2 of all, then 0.1 of the rest, then 0.1 of the rest again.
    expect(count('http500')).toBeGreaterThan(20);
    expect(count('http500')).toBeLessThan(60);
    expect(count('1003')).toBeGreaterThan(5);
    expect(count('1003')).toBeLessThan(35);
    expect(count('damaged')).toBeGreaterThan(3);
    expect(count('ok')).toBe(200 - count('http500') - count('1003') - count('damaged'));
  });

  it('applies per-endpoint probabilities and task faults', async () => {
    const started = await startWithClock({
      maxInFlight: 1_000,
      faultsByEndpoint: { query: { http502: 1 } },
      faults: { taskFail: 1 },
      taskFailCode: '2037',
    });
    sim = started.sim;
    const id = (await submit(sim, validBody())).json?.taskId as string;
    expect(id).toMatch(/^\d+$/);
    expect((await query(sim, id)).status).toBe(502);
    sim.setScenario({ faultsByEndpoint: {} });
    started.clock.now = T0 + 86_400_000;
    expect((await query(sim, id)).json).toMatchObject({ status: 'FAILED', errorCode: '2037' });
  });
});
