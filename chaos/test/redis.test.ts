import { describe, expect, it } from 'vitest';
import { failedChecks } from '../src/report.js';
import { REDIS_RESTART, redisLossScenario, redisRestartScenario } from '../src/scenarios/redis.js';
import { describeFailure, testEnvironment } from './env.js';

describe('Redis goes away mid-run', () => {
  it('restarted with its append-only file: nothing lost, nobody restarted', async () => {
    const env = await testEnvironment();
    const result = await redisRestartScenario(env, { ...REDIS_RESTART.ci, seed: 11 });
    expect(failedChecks(result), describeFailure(result, env)).toEqual([]);
    expect(result.lost).toBe(0);
  }, 240_000);

  it('restarted empty: the reconciler finishes every line from Postgres', async () => {
    const env = await testEnvironment();
    const result = await redisLossScenario(env, { ...REDIS_RESTART.ci, seed: 12 });
    expect(failedChecks(result), describeFailure(result, env)).toEqual([]);
    expect(result.lost).toBe(0);
  }, 240_000);
});
