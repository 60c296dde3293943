import { describe, expect, it } from 'vitest';
import { failedChecks } from '../src/report.js';
import { WORKER_CRASH, workerCrashScenario } from '../src/scenarios/worker-crash.js';
import { describeFailure, testEnvironment } from './env.js';

describe('worker processes SIGKILLed mid-batch', () => {
  it('lose no line, finish each exactly once, pay twice only where counted', async () => {
    const env = await testEnvironment();
    const result = await workerCrashScenario(env, { ...WORKER_CRASH.ci, seed: 7 });
    expect(failedChecks(result), describeFailure(result, env)).toEqual([]);
    expect(result.lost).toBe(0);
    expect(result.faultCounts.SIGKILL).toBeGreaterThanOrEqual(WORKER_CRASH.ci.kills);
    expect(result.duplicates).toEqual(expect.any(Number));
    expect(result.duplicates as number).toBeLessThanOrEqual(result.ambiguous as number);
  }, 300_000);
});
