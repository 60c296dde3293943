import { describe, expect, it } from 'vitest';
import { failedChecks } from '../src/report.js';
import { POSTGRES_OUTAGE, postgresOutageScenario } from '../src/scenarios/postgres-outage.js';
import { describeFailure, testEnvironment } from './env.js';

describe('Postgres goes away for 10 s mid-run', () => {
  it('the API answers 503 JSON, the workers wait, nothing is lost', async () => {
    const env = await testEnvironment();
    const result = await postgresOutageScenario(env, { ...POSTGRES_OUTAGE.ci, seed: 21 });
    expect(failedChecks(result), describeFailure(result, env)).toEqual([]);
    expect(result.lost).toBe(0);
  }, 300_000);
});
