import { mkdirSync } from 'node:fs';
import { freePort } from '@voxline/testing/net';
import { MAINS, TMP_DIR } from '../paths.js';
import { AUDIO_HOST } from './database.js';
import { type Child, httpOk, spawnNode, waitReady } from './processes.js';
import { SIM_KEY } from './simulator.js';

/** Where a spawned API or worker finds its state; one prefix per run keeps runs apart. */
export interface StackTarget {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
}

export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
export const LOG_DIR = `${TMP_DIR}/logs`;

// Only what the processes need: the bench's own environment (NODE_OPTIONS, a developer's
// RUNNINGHUB_* variables) must not leak into what is measured.
function baseEnv(target: StackTarget): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    ADMIN_TOKEN,
    DATABASE_URL: target.databaseUrl,
    REDIS_URL: target.redisUrl,
    QUEUE_PREFIX: target.prefix,
    HOST: '127.0.0.1',
  };
}

let counter = 0;
function logPath(name: string): string {
  mkdirSync(LOG_DIR, { recursive: true });
  counter += 1;
  return `${LOG_DIR}/${String(counter).padStart(3, '0')}-${name}.log`;
}

export interface ApiProcess {
  child: Child;
  url: string;
}

export async function startApiProcess(
  target: StackTarget,
  extra: Record<string, string> = {},
): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawnNode(
    'api',
    MAINS.api,
    {
      ...baseEnv(target),
      PORT: String(port),
      AUDIO_URL_ALLOWLIST: AUDIO_HOST,
      ...extra,
    },
    { logPath: logPath('api') },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, 'GET /healthz', () => httpOk(`${url}/healthz`));
  return { child, url };
}

export interface WorkerProcessOptions {
  name?: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
}

/** A worker process against the given simulator; ready once its /metrics answers. */
export async function startWorkerProcess(
  target: StackTarget,
  simUrl: string,
  options: WorkerProcessOptions = {},
): Promise<Child> {
  const port = await freePort();
  const name = options.name ?? 'worker';
  const child = spawnNode(
    name,
    MAINS.worker,
    {
      ...baseEnv(target),
      RUNNINGHUB_BASE_URL: simUrl,
      RUNNINGHUB_API_KEY: SIM_KEY,
      WORKER_METRICS_PORT: String(port),
      ...options.env,
    },
    { logPath: logPath(name), ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}) },
  );
  // main.ts opens the metrics port only after every BullMQ worker is ready.
  await waitReady(child, 'GET /metrics', () =>
    httpOk(`http://127.0.0.1:${port}/metrics`, { authorization: `Bearer ${ADMIN_TOKEN}` }),
  );
  return child;
}
