import { describe, expect, it } from 'vitest';
import { failedChecks } from '../src/report.js';
import { GRACEFUL_SHUTDOWN, gracefulShutdownScenario } from '../src/scenarios/graceful-shutdown.js';
import { describeFailure, testEnvironment } from './env.js';

describe('a worker told to stop (SIGTERM) mid-batch', () => {
  it('exits 0 in time, and its successor finishes the batch without paying twice', async () => {
    const env = await testEnvironment();
    const result = await gracefulShutdownScenario(env, { ...GRACEFUL_SHUTDOWN.ci, seed: 41 });
    expect(failedChecks(result), describeFailure(result, env)).toEqual([]);
    expect(result.duplicates).toBe(0);
  }, 300_000);
});
