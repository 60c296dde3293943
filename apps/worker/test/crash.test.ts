import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneJobEvents, cloneJobs, createTenant, insertCloneJobs, newId } from '@voxline/db';
import { closeQueues, createQueues, enqueue, jobIds, PRIORITY, slotsInUse } from '@voxline/queue';
import { decodeUpstreamVoiceId } from '@voxline/runninghub';
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

const LINES = 300;
const KILLS = 3;

describe('a worker process killed with SIGKILL mid-batch', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let sim: SimulatorHandle;
  let logDir: string;
  let started = 0;

  beforeAll(async () => {
    assertBuilt(['worker']);
    logDir = await mkdtemp(join(tmpdir(), 'voxline-crash-'));
    db = await createTestDatabase();
    redis = await createTestRedis();
    sim = await startSimulator({
      maxInFlight: 6,
      durations: { baseMs: 150, perCharMs: 1, sigma: 0.4 },
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

  function startCrashWorker(): Promise<NodeProcess> {
    const env = {
      ...fastEnv(db, redis, {
        RUNNINGHUB_BASE_URL: sim.url,
        RUNNINGHUB_API_KEY: SIM_KEY,
        RUNNINGHUB_MAX_IN_FLIGHT: '6',
        JOB_LOCK_MS: '1000',
        RECONCILE_INTERVAL_MS: '1000',
        RECONCILE_GRACE_MS: '3000',
        // Readiness is read from its "worker started" line.
        LOG_LEVEL: 'info',
      }),
    };
    const name = `worker-${++started}`;
    return startWorker({ name, env, logFile: join(logDir, `${name}.log`) });
  }

  it('is replaced by another and every job still ends exactly once', async () => {
    const { tenant } = await createTenant(db.db, { name: 'crash' });
    const rows = Array.from({ length: LINES }, (_, i) => ({
      id: newId(),
      tenantId: tenant.id,
      priority: PRIORITY.batch,
      request: { ...voice, text: `Line ${i}, spoken after a crash or two.` },
    }));
    await insertCloneJobs(db.db, rows);
    const queues = createQueues(redis.redis, redis.prefix);
    await enqueue(
      queues,
      'cloneSubmit',
      rows.map((r) => ({
        jobId: jobIds.submit(r.id, 1),
        data: { cloneJobId: r.id, tenantId: tenant.id, run: 1 },
      })),
    );
    const ids = rows.map((r) => r.id);
    const succeeded = async () =>
      (
        await db.db
          .select({ n: count() })
          .from(cloneJobs)
          .where(and(inArray(cloneJobs.id, ids), eq(cloneJobs.status, 'succeeded')))
      )[0]?.n ?? 0;

    let worker = await startCrashWorker();
    for (let kill = 1; kill <= KILLS; kill++) {
      const target = Math.round((LINES * kill) / (KILLS + 2));
      await waitFor(
        `${target} lines to succeed before kill ${kill}`,
        async () => (await succeeded()) >= target,
        {
          timeoutMs: 120_000,
        },
      );
      await worker.stop('SIGKILL');
      worker = await startCrashWorker();
    }

    await waitFor('every line to finish', async () => (await succeeded()) === LINES, {
      timeoutMs: 180_000,
    });

    // Exactly once: one succeeded transition per job, whatever was re-run after each kill.
    const finals = await db.db
      .select({ n: count() })
      .from(cloneJobEvents)
      .where(
        and(inArray(cloneJobEvents.cloneJobId, ids), eq(cloneJobEvents.toStatus, 'succeeded')),
      );
    expect(finals[0]?.n).toBe(LINES);

    // Every duplicate upstream task is one the ambiguous-submit accounting saw.
    const tasksPerJob = new Map<string, number>();
    for (const task of sim.tasks()) {
      const jobKey = decodeUpstreamVoiceId(task.customVoiceId)?.jobKey ?? task.customVoiceId;
      tasksPerJob.set(jobKey, (tasksPerJob.get(jobKey) ?? 0) + 1);
    }
    const duplicates = [...tasksPerJob.values()].reduce((sum, n) => sum + n - 1, 0);
    const ambiguous = await db.db
      .select({ n: count() })
      .from(cloneJobEvents)
      .where(
        and(inArray(cloneJobEvents.cloneJobId, ids), eq(cloneJobEvents.kind, 'ambiguous_submit')),
      );
    expect(duplicates).toBeLessThanOrEqual(ambiguous[0]?.n ?? 0);

    await waitFor(
      'every slot to be released',
      async () => (await slotsInUse(redis.redis, redis.prefix)) === 0,
    );
    expect(sim.stats().inFlight.max[sim.keyLabel(SIM_KEY)]).toBeLessThanOrEqual(6);

    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await closeQueues(queues);
  }, 300_000);
});
