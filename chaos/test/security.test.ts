import { describe, expect, it } from 'vitest';
import { failedChecks } from '../src/report.js';
import { securityScenario } from '../src/scenarios/security.js';
import { describeFailure, testEnvironment } from './env.js';

describe('security, end to end', () => {
  it('isolates tenants, closes operator routes, refuses private URLs, logs no secret', async () => {
    const env = await testEnvironment();
    const result = await securityScenario(env, { seed: 61 });
    expect(failedChecks(result), describeFailure(result, env)).toEqual([]);
  }, 180_000);
});
