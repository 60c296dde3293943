import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Config, loadConfig } from '@voxline/config';
import {
  type CloneJob,
  cloneJobs,
  createTenant,
  insertBatch,
  insertCloneJobs,
  newId,
  type VoiceCloneRequest,
} from '@voxline/db';
import { createLogger } from '@voxline/logger';
import { enqueue, jobIds, PRIORITY } from '@voxline/queue';
import { type SimOptions, type SimulatorHandle, startSimulator } from '@voxline/runninghub-sim';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@voxline/testing';
import { inArray } from 'drizzle-orm';
import { startWorkers, type WorkerRuntime } from '../src/runtime.js';

export const SIM_KEY = 'sim-test-key';

/** The folder store of a test's stored audio: one per queue prefix, removed by the harness. */
export function audioDir(redis: TestRedis): string {
  return join(tmpdir(), 'voxline-worker-audio', redis.prefix.replace(/[{}]/g, ''));
}

/** Settings that make a whole pipeline run take seconds: short polls, short backoffs. */
export function fastEnv(db: TestDatabase, redis: TestRedis, extra: Record<string, string> = {}) {
  return {
    AUDIO_STORE: pathToFileURL(audioDir(redis)).href,
    DATABASE_URL: db.url,
    // A test on a Redis Cluster names its nodes instead (the two are exclusive).
    ...(extra.REDIS_CLUSTER_NODES ? {} : { REDIS_URL: redis.url }),
    QUEUE_PREFIX: redis.prefix,
    LOG_LEVEL: 'silent',
    RUNNINGHUB_MAX_IN_FLIGHT: '3',
    POLL_MIN_INTERVAL_MS: '20',
    POLL_MAX_INTERVAL_MS: '250',
    RETRY_BASE_DELAY_MS: '20',
    RETRY_MAX_DELAY_MS: '200',
    SLOT_WAIT_MS: '20',
    RECONCILE_GRACE_MS: '0',
    WEBHOOK_ALLOWLIST: '127.0.0.0/8',
    WORKER_METRICS_PORT: '0',
    ...extra,
  };
}

export const voice: Omit<VoiceCloneRequest, 'text'> = {
  audio: 'https://example.com/reference.wav',
  custom_voice_id: 'narrator01',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd',
};

export interface Harness {
  db: TestDatabase;
  redis: TestRedis;
  sim: SimulatorHandle;
  config: Config;
  runtime: WorkerRuntime;
  tenantId: string;
  /** The tenant's API key, for tests that read results through the producer API. */
  apiKey: string;
  /** Inserts and enqueues lines the way the producer API does; returns their ids. */
  submit(
    texts: string[],
    /** `ids`: the lines' ids, for a test that must know them before they are queued. */
    options?: { batch?: boolean; ids?: string[] },
  ): Promise<{ ids: string[]; batchId: string | null }>;
  jobs(ids: string[]): Promise<CloneJob[]>;
  /** Stops the workers and starts new ones on the same services, with `env` over the first one's. */
  restart(env: Record<string, string>): Promise<WorkerRuntime>;
  waitTerminal(ids: string[], timeoutMs?: number): Promise<CloneJob[]>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { sim?: Partial<SimOptions>; env?: Record<string, string>; workers?: boolean } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const redis = await createTestRedis();
  const sim = await startSimulator({
    durations: { baseMs: 40, perCharMs: 1, sigma: 0.2 },
    maxInFlight: 3,
    ...options.sim,
  });
  const config = loadConfig(fastEnv(db, redis, options.env));
  const logger = createLogger({ name: 'test-worker', level: 'silent' });
  const start = (settings: Config) =>
    startWorkers({
      config: settings,
      logger,
      upstream: { baseUrl: sim.url, apiKey: SIM_KEY },
      scheduleReconciler: false,
    });
  let runtime = await start(config);
  const { tenant, apiKey } = await createTenant(db.db, { name: 'harness' });

  const jobs = (ids: string[]) => db.db.select().from(cloneJobs).where(inArray(cloneJobs.id, ids));
  return {
    db,
    redis,
    sim,
    config,
    get runtime() {
      return runtime;
    },
    tenantId: tenant.id,
    apiKey,
    async submit(texts, { batch = false, ids } = {}) {
      const batchId = batch ? newId() : null;
      const priority = batch ? PRIORITY.batch : PRIORITY.interactive;
      const rows = texts.map((text, i) => ({
        id: ids?.[i] ?? newId(),
        tenantId: tenant.id,
        batchId,
        lineIndex: batch ? i : null,
        priority,
        request: { ...voice, text },
      }));
      await db.db.transaction(async (tx) => {
        if (batchId) {
          await insertBatch(tx, {
            id: batchId,
            tenantId: tenant.id,
            total: rows.length,
            voice,
            requestHash: batchId,
          });
        }
        await insertCloneJobs(tx, rows);
      });
      await enqueue(
        runtime.context.queues,
        'cloneSubmit',
        rows.map((row) => ({
          jobId: jobIds.submit(row.id, 1),
          data: { cloneJobId: row.id, tenantId: tenant.id, run: 1 },
          options: { priority },
        })),
      );
      return { ids: rows.map((r) => r.id), batchId };
    },
    jobs,
    async restart(env) {
      await runtime.close();
      runtime = await start(loadConfig(fastEnv(db, redis, { ...options.env, ...env })));
      return runtime;
    },
    async waitTerminal(ids, timeoutMs = 60_000) {
      return waitFor(
        `${ids.length} jobs to reach a terminal state`,
        async () => {
          const rows = await jobs(ids);
          return rows.every((r) => ['succeeded', 'failed', 'canceled'].includes(r.status))
            ? rows
            : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async close() {
      await runtime.close();
      await sim.close();
      await rm(audioDir(redis), { recursive: true, force: true });
      await redis.cleanup();
      await db.drop();
    },
  };
}
