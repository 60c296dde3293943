import { mkdirSync } from 'node:fs';
import { freePort } from '@voxline/testing/net';
import { type NodeProcess, startApi, startWorker } from '@voxline/testing/process';
import { TMP_DIR } from '../paths.js';
import { AUDIO_HOST } from './database.js';
import { SIM_KEY } from './simulator.js';

/** Where a spawned API or worker finds its state; one prefix per run keeps runs apart. */
export interface StackTarget {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  /** The run's folder store (AUDIO_STORE), removed with the run. */
  audioDir: string;
}

export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
export const LOG_DIR = `${TMP_DIR}/logs`;
/** A stop's SIGTERM is followed by SIGKILL after this long. */
const KILL_AFTER_MS = 15_000;

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
    // Never the default (./data/audio under whatever directory the process starts in).
    AUDIO_STORE: `file://${target.audioDir}`,
  };
}

let counter = 0;
function logPath(name: string): string {
  mkdirSync(LOG_DIR, { recursive: true });
  counter += 1;
  return `${LOG_DIR}/${String(counter).padStart(3, '0')}-${name}.log`;
}

export interface ApiProcess {
  child: NodeProcess;
  url: string;
}

export async function startApiProcess(
  target: StackTarget,
  extra: Record<string, string> = {},
): Promise<ApiProcess> {
  const port = await freePort();
  const child = await startApi({
    name: 'api',
    env: {
      ...baseEnv(target),
      PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      AUDIO_URL_ALLOWLIST: AUDIO_HOST,
      ...extra,
    },
    logFile: logPath('api'),
    killAfterMs: KILL_AFTER_MS,
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

export interface WorkerProcessOptions {
  name?: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
}

/** A worker process against the given simulator; ready once it logs that it started. */
export async function startWorkerProcess(
  target: StackTarget,
  simUrl: string,
  options: WorkerProcessOptions = {},
): Promise<NodeProcess> {
  const name = options.name ?? 'worker';
  return startWorker({
    name,
    env: {
      ...baseEnv(target),
      RUNNINGHUB_BASE_URL: simUrl,
      RUNNINGHUB_API_KEY: SIM_KEY,
      WORKER_METRICS_PORT: String(await freePort()),
      ...options.env,
    },
    logFile: logPath(name),
    killAfterMs: KILL_AFTER_MS,
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
  });
}
