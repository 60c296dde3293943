import { describe, expect, it } from 'vitest';
import { failedChecks } from '../src/report.js';
import { UPSTREAM_FAULTS, upstreamFaultsScenario } from '../src/scenarios/upstream-faults.js';
import { describeFailure, testEnvironment } from './env.js';

describe('an upstream that fails in every documented way', () => {
  it('puts every line in the right terminal state with the right code', async () => {
    const env = await testEnvironment();
    const result = await upstreamFaultsScenario(env, { ...UPSTREAM_FAULTS.ci, seed: 31 });
    expect(failedChecks(result), describeFailure(result, env)).toEqual([]);
    expect(result.lost).toBe(0);
    // The opening script guarantees each path ran at least once.
    expect(result.faultCounts['tasks never ending']).toBeGreaterThanOrEqual(1);
    expect(result.outcomes['failed POLL_DEADLINE']).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
