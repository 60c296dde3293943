import { createServer, type Server } from 'node:net';
import {
  createTestDatabase,
  createTestRedis,
  freePort,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, assertBuilt, CliProcess, runCli, servicePids } from './cli.js';

/**
 * `voxline start` as a process: the simulator, the API and the worker as its children, on a
 * database and a Redis prefix of this file's own and free ports.
 */

let db: TestDatabase;
let redis: TestRedis;

beforeAll(async () => {
  assertBuilt();
  [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
});

afterAll(async () => {
  await redis?.cleanup();
  await db?.drop();
});

async function stackEnv(): Promise<Record<string, string>> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    ADMIN_TOKEN: 'cli-start-admin-token-0123456789',
    LOG_LEVEL: 'info',
    PORT: String(await freePort()),
    SIM_PORT: String(await freePort()),
    WORKER_METRICS_PORT: String(await freePort()),
    SHUTDOWN_TIMEOUT_MS: '5000',
  };
}

async function allGone(pids: number[]): Promise<void> {
  await waitFor('every service process to be gone', () => pids.every((pid) => !alive(pid)), {
    timeoutMs: 5_000,
  });
}

describe('voxline start', () => {
  it('boots the simulator, the API and the worker, and stops them all on SIGTERM', async () => {
    const env = await stackEnv();
    const start = new CliProcess(['start'], env);
    await start.waitForOutput(/ready at http:\/\/127\.0\.0\.1:\d+/);
    expect(start.output).toContain(
      `using the RunningHub SIMULATOR at http://127.0.0.1:${env.SIM_PORT}`,
    );
    // The worker found the simulator too.
    expect(start.output).toMatch(
      /worker\s+RUNNINGHUB_BASE_URL is not set: using the RunningHub SIMULATOR/,
    );
    const pids = servicePids(start.output);
    expect(Object.keys(pids).sort()).toEqual(['api', 'sim', 'worker']);
    expect(Object.values(pids).every(alive)).toBe(true);

    const ready = await fetch(`http://127.0.0.1:${env.PORT}/readyz`);
    expect(ready.status).toBe(200);

    start.child.kill('SIGTERM');
    const run = await start.exited;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/stopping \(SIGTERM\)/);
    expect(run.stdout).toMatch(/voxline\s+stopped$/m);
    await allGone(Object.values(pids));
  });

  it('stops the rest, and exits non-zero, when a service dies', async () => {
    const start = new CliProcess(['start'], await stackEnv());
    await start.waitForOutput(/ready at/);
    const pids = servicePids(start.output);
    process.kill(pids.worker as number, 'SIGKILL');
    const run = await start.exited;
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'the worker service was killed by SIGKILL unexpectedly; stopping the others',
    );
    await allGone(Object.values(pids));
  });

  it('says which variable to set when a port is taken', async () => {
    const env = await stackEnv();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(Number(env.SIM_PORT), '127.0.0.1', resolve),
    );
    try {
      const run = await runCli(['start'], env);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('error: port_in_use: a port voxline needs is not available');
      expect(run.stderr).toContain(
        `port ${env.SIM_PORT} on 127.0.0.1 is in use (SIM_PORT): stop what listens there, or set SIM_PORT to a free port`,
      );
      // Nothing was started.
      expect(run.stdout).not.toContain('ready at');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('refuses to run the demo against a real RunningHub', async () => {
    const run = await runCli(['demo'], {
      ...(await stackEnv()),
      RUNNINGHUB_BASE_URL: 'https://www.runninghub.ai',
      RUNNINGHUB_API_KEY: 'not-used',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: demo_needs_simulator: the demo runs on the simulator only/);
  });
});
