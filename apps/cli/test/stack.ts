import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimOptions, type SimulatorHandle, startSimulator } from '@voxline/runninghub-sim';
import {
  createTestDatabase,
  createTestRedis,
  freePort,
  type TestDatabase,
  type TestRedis,
} from '@voxline/testing';
import { expect } from 'vitest';
import { assertBuilt, CliProcess, runCli } from './cli.js';

export const VOICE = [
  '--audio',
  'https://cdn.example.com/narrator.wav',
  '--voice-id',
  'narrator01',
];

/** `voxline start` on a database and Redis prefix of the test file's own, with one tenant. */
export interface CliStack {
  db: TestDatabase;
  redis: TestRedis;
  sim: SimulatorHandle;
  /** The running `voxline start`. */
  start: CliProcess;
  /** A scratch directory, removed by close. */
  dir: string;
  /** The environment of an admin CLI call (no tenant key). */
  base: Record<string, string>;
  /** The environment of a tenant's CLI call. */
  env: Record<string, string>;
  apiKey: string;
  /** Stops `voxline start` (which must exit 0) and removes everything it made. */
  close(): Promise<void>;
}

/**
 * The built `voxline start` running the API and the worker as processes against a simulator in
 * this process, with short polls and backoffs (seconds, not minutes), and a tenant created
 * through `voxline tenants create`. `sim` options are given the directory to keep files in.
 */
export async function startCliStack(
  name: string,
  sim: (dir: string) => Partial<SimOptions> = () => ({}),
): Promise<CliStack> {
  assertBuilt();
  const dir = await mkdtemp(join(tmpdir(), `voxline-cli-${name}-`));
  const [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
  const simulator = await startSimulator({
    durations: { baseMs: 40, perCharMs: 0.5, sigma: 0.2 },
    maxInFlight: 5,
    duplicateVoiceId: 'allow',
    ...sim(dir),
  });
  const port = await freePort();
  const base = {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    ADMIN_TOKEN: `cli-${name}-admin-token-0123456789`,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    VOXLINE_API_URL: `http://127.0.0.1:${port}`,
    // Where the clone resource's audio.url points (voxline's stored copy).
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
  };
  const start = new CliProcess(
    ['start'],
    {
      ...base,
      RUNNINGHUB_BASE_URL: simulator.url,
      RUNNINGHUB_API_KEY: `cli-${name}-key`,
      RUNNINGHUB_MAX_IN_FLIGHT: '5',
      WORKER_METRICS_PORT: '0',
      AUDIO_URL_ALLOWLIST: 'cdn.example.com',
      POLL_MIN_INTERVAL_MS: '20',
      POLL_MAX_INTERVAL_MS: '250',
      RETRY_BASE_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
      SLOT_WAIT_MS: '20',
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
    dir,
  );
  const close = async () => {
    if (start.child.exitCode === null && start.child.signalCode === null) {
      start.child.kill('SIGTERM');
      const run = await start.exited;
      expect(run.code, run.stderr).toBe(0);
    }
    await simulator.close();
    await redis.cleanup();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await start.waitForOutput(/ready at http:\/\/127\.0\.0\.1:\d+/);
    const tenant = await runCli(['tenants', 'create', `cli-${name}`, '--json'], base);
    expect(tenant.code, tenant.stderr).toBe(0);
    const { api_key: apiKey } = JSON.parse(tenant.stdout) as { api_key: string };
    return {
      db,
      redis,
      sim: simulator,
      start,
      dir,
      base,
      env: { ...base, VOXLINE_API_KEY: apiKey },
      apiKey,
      close,
    };
  } catch (error) {
    start.child.kill('SIGKILL');
    await start.exited;
    await close();
    throw error;
  }
}
