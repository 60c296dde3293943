import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cloneJobEvents,
  cloneJobs,
  createTenant,
  insertBatch,
  insertCloneJobs,
  newId,
} from '@voxline/db';
import {
  closeQueues,
  createQueues,
  enqueue,
  fairSlotKeys,
  jobIds,
  PRIORITY,
  slotsInUse,
} from '@voxline/queue';
import { type SimulatorHandle, startSimulator } from '@voxline/runninghub-sim';
import {
  assertBuilt,
  createTestDatabase,
  createTestRedis,
  type NodeProcess,
  startWorker,
  stopAll,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@voxline/testing';
import { and, count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioDir, fastEnv, SIM_KEY, voice } from './harness.js';

const LINES_PER_TENANT = 120;
const SLOTS = 3;

describe('a worker SIGKILLed while it schedules fair shares', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let sim: SimulatorHandle;
  let logDir: string;
  let started = 0;

  beforeAll(async () => {
    assertBuilt(['worker']);
    logDir = await mkdtemp(join(tmpdir(), 'voxline-fair-crash-'));
    db = await createTestDatabase();
    redis = await createTestRedis();
    sim = await startSimulator({
      maxInFlight: 10,
      durations: { baseMs: 150, perCharMs: 1, sigma: 0.3 },
    });
  });
  afterAll(async () => {
    await stopAll('SIGKILL');
    await rm(logDir, { recursive: true, force: true });
    await rm(audioDir(redis), { recursive: true, force: true });
    await sim.close();
    await redis.cleanup();
    await db.drop();
  });

  function startFairWorker(): Promise<NodeProcess> {
    const env = fastEnv(db, redis, {
      RUNNINGHUB_BASE_URL: sim.url,
      RUNNINGHUB_API_KEY: SIM_KEY,
      RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS),
      FAIR_SHARES: 'true',
      JOB_LOCK_MS: '1000',
      // A grant whose promoter died is taken up when its job's safety delay ends.
      SLOT_PARK_MS: '2000',
      RECONCILE_INTERVAL_MS: '1000',
      RECONCILE_GRACE_MS: '1000',
      LOG_LEVEL: 'info',
    });
    const name = `fair-worker-${++started}`;
    return startWorker({ name, env, logFile: join(logDir, `${name}.log`) });
  }

  it('loses no line and leaks no slot, even when Redis forgets the waiting lists', async () => {
    const queues = createQueues(redis.redis, redis.prefix);
    const ids: string[] = [];
    for (const name of ['crash-a', 'crash-b']) {
      const { tenant } = await createTenant(db.db, { name });
      const batchId = newId();
      const rows = Array.from({ length: LINES_PER_TENANT }, (_, i) => ({
        id: newId(),
        tenantId: tenant.id,
        batchId,
        lineIndex: i,
        priority: PRIORITY.batch,
        request: { ...voice, text: `Line ${i} of ${name}, scheduled across crashes.` },
      }));
      await db.db.transaction(async (tx) => {
        await insertBatch(tx, {
          id: batchId,
          tenantId: tenant.id,
          total: rows.length,
          voice,
          requestHash: batchId,
        });
        await insertCloneJobs(tx, rows);
      });
      await enqueue(
        queues,
        'cloneSubmit',
        rows.map((r) => ({
          jobId: jobIds.submit(r.id, 1),
          data: { cloneJobId: r.id, tenantId: tenant.id, run: 1 },
          options: { priority: PRIORITY.batch },
        })),
      );
      ids.push(...rows.map((r) => r.id));
    }
    const succeeded = async () =>
      (
        await db.db
          .select({ n: count() })
          .from(cloneJobs)
          .where(and(inArray(cloneJobs.id, ids), eq(cloneJobs.status, 'succeeded')))
      )[0]?.n ?? 0;
    const keys = fairSlotKeys(redis.prefix);

    let worker = await startFairWorker();
    for (const [kill, target] of [
      [1, 40],
      [2, 110],
    ] as const) {
      await waitFor(
        `${target} lines to succeed before kill ${kill}`,
        async () => ((await succeeded()) >= target ? true : undefined),
        { timeoutMs: 120_000 },
      );
      await worker.stop('SIGKILL');
      if (kill === 2) {
        // As if Redis lost the waiting lists: the reconciler rebuilds them from Postgres.
        await redis.redis.del(keys.waiting, keys.jobs, keys.tenants);
      }
      worker = await startFairWorker();
    }

    await waitFor(
      'every line to finish',
      async () => ((await succeeded()) === ids.length ? true : undefined),
      { timeoutMs: 180_000 },
    );
    const finals = await db.db
      .select({ n: count() })
      .from(cloneJobEvents)
      .where(
        and(inArray(cloneJobEvents.cloneJobId, ids), eq(cloneJobEvents.toStatus, 'succeeded')),
      );
    expect(finals[0]?.n).toBe(ids.length);
    await waitFor('every slot to be released and nobody to wait', async () =>
      (await slotsInUse(redis.redis, redis.prefix)) === 0 &&
      (await redis.redis.hlen(keys.jobs)) === 0
        ? true
        : undefined,
    );
    expect(sim.stats().inFlight.max[sim.keyLabel(SIM_KEY)]).toBeLessThanOrEqual(SLOTS);
    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await closeQueues(queues);
  }, 300_000);
});
