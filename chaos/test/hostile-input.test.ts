import { beforeAll, describe, expect, it } from 'vitest';
import type { Check } from '../src/observe.js';
import type { ScenarioResult } from '../src/report.js';
import { HOSTILE_INPUT, hostileInputScenario } from '../src/scenarios/hostile/hostile-input.js';
import { testEnvironment } from './env.js';

/** One fuzzing run, judged in parts so that each kind of failure is reported on its own. */
describe('hostile input to every /v1 route (fast-check, real HTTP)', () => {
  let result: ScenarioResult;
  let workDir = '';
  beforeAll(async () => {
    const env = await testEnvironment();
    workDir = env.workDir;
    result = await hostileInputScenario(env, { ...HOSTILE_INPUT.ci, seed: 51 });
  }, 300_000);

  const failed = (pick: (c: Check) => boolean) =>
    result.checks.filter((c) => pick(c) && !c.ok).map((c) => `${c.name}: ${c.detail}`);

  it('never answers 5xx and writes nothing for what it refuses (bodies, headers, queries, ids)', () => {
    expect(
      failed((c) => c.name.includes('runs, never a 5xx')),
      `logs in ${workDir}`,
    ).toEqual([]);
    expect(result.outcomes['5xx answers']).toBe(0);
  });

  it('refuses 10 MB bodies, invalid JSON, deep nesting and a body over the limit with a 4xx', () => {
    expect(failed((c) => c.name.startsWith('big body'))).toEqual([]);
  });

  it('refuses requests malformed at the HTTP level with a 4xx, writing nothing', () => {
    expect(failed((c) => c.name.startsWith('malformed HTTP'))).toEqual([]);
  });

  it('answers every refusal with the JSON error envelope {error:{code,message}}', () => {
    expect(failed((c) => c.name.startsWith('every refusal'))).toEqual([]);
  });

  it('answers the next request on a kept-alive connection after a refusal', () => {
    expect(failed((c) => c.name.startsWith('keep-alive:'))).toEqual([]);
  });

  it('stays up, logs no unhandled error and no secret', () => {
    expect(failed((c) => c.name.startsWith('the API') || c.name.startsWith('no API key'))).toEqual(
      [],
    );
  });
});
