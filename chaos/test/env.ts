import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@voxline/testing';
import { inject } from 'vitest';
import { failedChecks, type ScenarioResult } from '../src/report.js';
import type { Environment } from '../src/stack.js';

/** Scenarios in vitest: databases from the migrated template, the shared Redis. */
export async function testEnvironment(): Promise<Environment & { lines: string[] }> {
  const lines: string[] = [];
  return {
    lines,
    async createDatabase() {
      const db = await createTestDatabase();
      // The scenario opens its own pool; this one was only the template clone's.
      await db.close();
      return { url: db.url, drop: () => db.drop() };
    },
    redisUrl: inject('redisUrl'),
    workDir: await mkdtemp(join(tmpdir(), 'voxline-chaos-test-')),
    progress(message) {
      lines.push(`${new Date().toISOString()} ${message}`);
    },
  };
}

/** A readable failure: the failed checks, then the scenario's own progress lines. */
export function describeFailure(result: ScenarioResult, env: { lines: string[]; workDir: string }) {
  return [...failedChecks(result), `logs in ${env.workDir}`, ...env.lines.slice(-20)].join('\n');
}
