import { RunningHubClient, type TaskResponse, type VoiceCloneParams } from '@voxline/runninghub';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import { KEY, query, startWithClock, submit, T0, validBody } from './helpers.js';

const started: SimulatorHandle[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});

/** Submits `n` tasks, lets them finish, and returns every answer's JSON, in order. */
async function answers(seed: number, shapeVariety: number, n: number) {
  const { sim, clock } = await startWithClock({ seed, shapeVariety, maxInFlight: 100 });
  started.push(sim);
  const bodies: Record<string, unknown>[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const answer = (await submit(sim, validBody({ custom_voice_id: `narrator${seed}x${i}` })))
      .json as Record<string, unknown>;
    bodies.push(answer);
    ids.push(String(answer.taskId));
  }
  for (let i = 0; i < 4; i++) {
    const moderated = validBody({ text: 'No. [[sim:submit=1505]]' });
    bodies.push((await submit(sim, moderated)).json as Record<string, unknown>);
  }
  clock.now = T0 + 60_000;
  for (const id of ids) bodies.push((await query(sim, id)).json as Record<string, unknown>);
  for (const id of ['1999999999999999999', '1999999999999999998', '1999999999999999997']) {
    bodies.push((await query(sim, id)).json as Record<string, unknown>);
  }
  return { sim, ids, bodies };
}

describe('shapeVariety', () => {
  it('replays the same answers from the same seed, and others from another seed', async () => {
    const strip = (b: Record<string, unknown>[]) =>
      JSON.stringify(b).replace(/"\d{16,}"|http:\/\/127\.0\.0\.1:\d+|[?&]expires=[^"]*/g, '');
    const a = await answers(7, 0.5, 12);
    const b = await answers(7, 0.5, 12);
    const c = await answers(8, 0.5, 12);
    expect(strip(a.bodies)).toBe(strip(b.bodies));
    expect(strip(a.bodies)).not.toBe(strip(c.bodies));
  });

  it('varies usage, codes, results and extra fields, and every answer still means the same', async () => {
    const { sim, ids, bodies } = await answers(3, 0.5, 40);
    const results = bodies.filter((b) => Array.isArray(b.results));
    const usages = results.map((b) => b.usage);
    const usageFields = usages.flatMap((u) => (u && typeof u === 'object' ? Object.values(u) : []));
    const entries = results.flatMap((b) => b.results as Record<string, unknown>[]);
    const seen = {
      usageNull: usages.some((u) => u === null),
      usageFieldNull: usageFields.some((v) => v === null),
      usageFieldNumber: usageFields.some((v) => typeof v === 'number'),
      usageFieldString: usageFields.some((v) => typeof v === 'string'),
      usageFieldDropped: results.some((b) => b.usage && Object.keys(b.usage as object).length < 4),
      onlyOutputUrl: entries.some((e) => !e.url && typeof e.outputUrl === 'string'),
      outputTypeOdd: entries.some((e) => e.outputType !== 'wav'),
      errorCodeNumber: bodies.some((b) => typeof b.errorCode === 'number'),
      errorCodeLeftOut: bodies.some((b) => !('errorCode' in b)),
      extraField: bodies.some((b) => 'traceId' in b || 'progress' in b),
    };
    expect(seen).toEqual(Object.fromEntries(Object.keys(seen).map((k) => [k, true])));

    // The real client reads each answer as it reads the canonical one.
    const client = new RunningHubClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      for (const id of ids) {
        const task: TaskResponse = await client.queryTask(id);
        expect(task).toMatchObject({ taskId: id, status: 'SUCCESS', errorCode: '' });
        expect(task.audio?.url).toContain(`/files/${id}.wav`);
        expect(task.audio?.type).toBe('wav');
      }
      for (let i = 0; i < 3; i++) {
        const lost = await client.queryTask('1999999999999999999').catch((e) => e);
        expect(lost).toMatchObject({ code: '1004', taskLost: true });
        const moderated = validBody({ text: 'No. [[sim:submit=1505]]' }) as VoiceCloneParams;
        const refused = await client.submitVoiceClone(moderated).catch((e) => e);
        expect(refused).toMatchObject({ code: '1505', kind: 'fatal' });
      }
    } finally {
      await client.close();
    }
  });

  it('answers in the canonical shape at 0 and can be turned on at run time', async () => {
    const { sim } = await startWithClock({ seed: 3 });
    started.push(sim);
    const plain = (await submit(sim)).json;
    expect(plain).toMatchObject({ errorCode: '', errorMessage: '', results: null });
    expect(Object.keys(plain ?? {}).sort()).toEqual(
      ['clientId', 'errorCode', 'errorMessage', 'promptTips', 'results', 'status', 'taskId'].sort(),
    );
    sim.setScenario({ shapeVariety: 1 });
    expect(sim.scenario().shapeVariety).toBe(1);
    const varied = (await submit(sim)).json;
    expect(varied).not.toHaveProperty('clientId');
    expect(varied).not.toHaveProperty('errorCode');
    expect(() => sim.setScenario({ shapeVariety: 2 })).toThrow();
  });
});
