import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import { KEY, OTHER_KEY, query, startWithClock, submit, T0, validBody } from './helpers.js';

let sim: SimulatorHandle;
afterEach(async () => {
  await sim?.close();
});

describe('per-key concurrency limit', () => {
  it('answers 421 TASK_QUEUE_MAXED beyond the limit, then accepts once a task finishes', async () => {
    const started = await startWithClock({
      maxInFlight: 2,
      durations: { baseMs: 1_000, perCharMs: 0, sigma: 0 },
    });
    sim = started.sim;
    const first = (await submit(sim)).json?.taskId as string;
    started.clock.now = T0 + 500;
    const second = (await submit(sim)).json?.taskId as string;
    expect(first).not.toBe(second);

    const full = await submit(sim);
    expect(full.status).toBe(200);
    expect(full.json).toMatchObject({
      taskId: '',
      errorCode: '421',
      errorMessage: 'TASK_QUEUE_MAXED',
    });
    // The limit is per key: another key still has its slots.
    expect((await submit(sim, validBody(), OTHER_KEY)).json?.errorCode).toBe('');

    started.clock.now = T0 + 999;
    expect((await submit(sim)).json?.errorCode).toBe('421');
    started.clock.now = T0 + 1_000; // the first task ends: its slot frees without any query
    const third = await submit(sim);
    expect(third.json?.errorCode).toBe('');
    expect((await submit(sim)).json?.errorCode).toBe('421');
    expect((await query(sim, first)).json?.status).toBe('SUCCESS');

    const label = sim.keyLabel(KEY);
    const stats = sim.stats();
    expect(stats.rejected).toEqual({ '421': 3 });
    expect(stats.accepted).toBe(4);
    expect(stats.inFlight.max[label]).toBe(2);
    expect(stats.inFlight.current[label]).toBe(2);
    expect(stats.inFlight.max[sim.keyLabel(OTHER_KEY)]).toBe(1);
    expect(JSON.stringify(stats)).not.toContain(KEY);
  });

  it('counts a task that never finishes against the limit until it is cancelled', async () => {
    const started = await startWithClock({ maxInFlight: 1 });
    sim = started.sim;
    await submit(sim, validBody({ text: 'stuck [[sim:never]]' }));
    started.clock.now = T0 + 10 * 86_400_000;
    expect((await submit(sim)).json?.errorCode).toBe('421');
  });

  it('takes a new limit at run time', async () => {
    const started = await startWithClock({ maxInFlight: 1 });
    sim = started.sim;
    await submit(sim);
    expect((await submit(sim)).json?.errorCode).toBe('421');
    sim.setScenario({ maxInFlight: 3 });
    expect((await submit(sim)).json?.errorCode).toBe('');
    expect(sim.stats().inFlight.max[sim.keyLabel(KEY)]).toBe(2);
  });
});
