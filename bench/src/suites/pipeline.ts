import { performance } from 'node:perf_hooks';
import { newId } from '@voxline/db';
import { catalog, createRedis, jobIds, PRIORITY } from '@voxline/queue';
import { Queue, Worker } from 'bullmq';
import { type BenchContext, inRun, type RunScope } from '../context.js';
import { type Figure, fmt, type Section, spread, table } from '../report.js';
import { benchTenant } from '../services/database.js';
import {
  CORES,
  CPU_HEADER,
  type CpuSplit,
  cpuCells,
  runBatch,
  runQueues,
} from '../services/e2e.js';
import { type PerUnit, perUnit } from '../services/probe-diff.js';
import { type ProfiledRun, profiledWorkerRun, roundTripNotes } from '../services/profiled.js';
import { redisCpuSeconds } from '../services/redis.js';
import { startBenchSimulator } from '../services/simulator.js';
import { startWorkerProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';
import { median } from '../util/stats.js';

// Both sides of the upstream limit far above what one worker can use: the pipeline, not the
// slots, is what is measured.
const SLOTS = 1_000;
const ZERO = { baseMs: 0, perCharMs: 0, sigma: 0 };
const CONCURRENCY = 50; // WORKER_CONCURRENCY's default, used by both sides

async function voxlineRun(
  ctx: BenchContext,
  texts: string[],
  env: Record<string, string> = {},
): Promise<{ throughput: number; failed: number; cpu: CpuSplit }> {
  return inRun(ctx, 'pipeline', async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: ZERO });
    scope.defer(() => sim.close());
    const worker = scope.own(
      await startWorkerProcess(scope.target, sim.url, {
        env: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS), ...env },
      }),
    );
    const tenant = await benchTenant(ctx.db);
    const result = await runBatch(ctx, runQueues(ctx, scope), {
      tenantId: tenant.id,
      texts,
      workers: [worker],
    });
    return { throughput: result.throughput, failed: result.failed, cpu: result.cpu };
  });
}

export interface RawRun {
  throughput: number;
  /** CPU-seconds of the bench process (the raw worker and its producer) and of Redis. */
  cpu: { bench: number; redis: number };
}

/** The baseline: a bare BullMQ worker (concurrency 50) completing no-op jobs. */
export async function rawWorkerRun(
  ctx: BenchContext,
  scope: RunScope,
  total: number,
): Promise<RawRun> {
  const producer = createRedis(ctx.redisUrl, 'producer');
  const consumer = createRedis(ctx.redisUrl, 'worker');
  const queue = new Queue('noop', { connection: producer, prefix: scope.prefix });
  let done = 0;
  let lastAt = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker('noop', async () => {}, {
    connection: consumer,
    prefix: scope.prefix,
    concurrency: CONCURRENCY,
  });
  scope.defer(async () => {
    await worker.close();
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  });
  worker.on('completed', () => {
    done += 1;
    lastAt = performance.now();
    if (done === total) finish();
  });
  await worker.waitUntilReady();
  await queue.waitUntilReady();
  const tenantId = newId();
  const jobs = Array.from({ length: total }, () => {
    const id = newId();
    return {
      name: 'noop',
      data: { cloneJobId: id, tenantId, run: 1 },
      opts: {
        ...catalog.cloneSubmit.options,
        priority: PRIORITY.batch,
        jobId: jobIds.submit(id, 1),
      },
    };
  });
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpuSeconds(ctx.redis);
  const started = performance.now();
  for (let i = 0; i < jobs.length; i += 1_000) await queue.addBulk(jobs.slice(i, i + 1_000));
  await finished;
  const cpu = process.cpuUsage(cpu0);
  return {
    throughput: total / ((lastAt - started) / 1000),
    cpu: {
      bench: (cpu.user + cpu.system) / 1e6,
      redis: (await redisCpuSeconds(ctx.redis)) - redis0,
    },
  };
}

interface ProfileResult extends ProfiledRun {
  baselinePerJob: PerUnit;
}

async function profileRun(ctx: BenchContext, lines: number): Promise<ProfileResult> {
  const measured = await profiledWorkerRun(ctx, {
    label: 'pipeline-profile',
    lines,
    slots: SLOTS,
    durations: ZERO,
    seed: 3,
  });
  // The same counters around the baseline, in this process.
  const { probeSnapshot } = await import('../probe.js');
  const baselinePerJob = await inRun(ctx, 'pipeline-raw-profile', async (scope) => {
    const before = probeSnapshot();
    await rawWorkerRun(ctx, scope, lines);
    return perUnit(before, probeSnapshot(), lines);
  });
  return { ...measured, baselinePerJob };
}

const r2 = (n: number) => fmt(n, n >= 10 ? 1 : 2);

export async function pipelineSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const lines = quick ? 2_000 : 10_000;
  const runs = quick ? 1 : 3;
  const texts = narrationLines(lines, { seed: 2 });
  const voxline: number[] = [];
  const raw: number[] = [];
  const rawCpu: RawRun['cpu'][] = [];
  const cpu: CpuSplit[] = [];
  let failed = 0;
  for (let run = 1; run <= runs; run++) {
    ctx.log(`pipeline: run ${run}/${runs}: ${lines} clones end to end`);
    const v = await voxlineRun(ctx, texts);
    voxline.push(v.throughput);
    cpu.push(v.cpu);
    failed += v.failed;
    ctx.log(`pipeline:   ${fmt(v.throughput, 1)} clones/s; raw BullMQ baseline`);
    const r = await inRun(ctx, 'pipeline-raw', (scope) => rawWorkerRun(ctx, scope, lines));
    raw.push(r.throughput);
    rawCpu.push(r.cpu);
    ctx.log(`pipeline:   baseline ${fmt(r.throughput, 0)} jobs/s`);
  }
  ctx.log('pipeline: profiling run');
  const profile = await profileRun(ctx, quick ? 1_000 : 3_000);

  const figures: Figure[] = [
    {
      name: `${fmt(lines, 0)} clones end to end, simulator at zero latency (1 worker process)`,
      unit: 'clones/s',
      samples: voxline,
      baseline: { name: 'raw BullMQ worker, no-op jobs', samples: raw },
      ratio: { label: 'of the baseline rate' },
    },
    {
      name: 'Worker CPU per clone',
      derived: "the worker's CPU-seconds ÷ clones, run by run",
      unit: 'ms',
      samples: cpu.map((c) => (1000 * c.workers) / lines),
    },
  ];
  const notes = [
    `Failed clones across the timed runs: ${failed}. At zero latency the simulator's submit answer is
already \`SUCCESS\` with the audio, so each clone is one submit step (recorded as succeeded at once),
never a poll step; item 6 measures a pipeline with polls.`,
    `**Where the CPU went** during the timed runs (CPU-seconds per 1,000 clones, medians; ${CORES} cores):

${table(CPU_HEADER, [cpuCells(cpu, lines)])}`,
    ...roundTripNotes(profile, profile.baselinePerJob, 'raw BullMQ worker, per job'),
    whyNote({ lines, voxline, cpu, rawCpu, raw, profile }),
  ];
  return {
    id: 'pipeline',
    title: '2. Pipeline overhead',
    method: `One spawned worker process (\`apps/worker/dist/main.js\`, defaults: WORKER_CONCURRENCY 50,
DATABASE_POOL_MAX 10) and the simulator in the bench process with zero latency (baseMs 0, perCharMs 0,
sigma 0) and ${fmt(SLOTS, 0)} slots on both sides (RUNNINGHUB_MAX_IN_FLIGHT and the simulator's
maxInFlight). The bench writes the batch as the API does (one transaction, then \`enqueue\`) and
times from the start of queueing to the last \`completed_at\` in Postgres. Baseline: a BullMQ
\`Worker\` with concurrency 50 and an empty processor, in the bench process, on the same Redis,
completing the same number of jobs with the submit jobs' options, timed from the first \`addBulk\`
to the last \`completed\` event.`,
    figures,
    notes,
    headline: [
      `Clones completed per second, simulator at zero latency, one worker process: ${spread(voxline, 'clones/s', 0)}; a raw BullMQ worker completes ${fmt(median(raw), 0)} no-op jobs/s on the same Redis.`,
    ],
  };
}

function whyNote(m: {
  lines: number;
  voxline: number[];
  raw: number[];
  cpu: CpuSplit[];
  rawCpu: RawRun['cpu'][];
  profile: ProfileResult;
}): string {
  const ms = (f: (c: CpuSplit) => number) => median(m.cpu.map((c) => (1000 * f(c)) / m.lines));
  const worker = ms((c) => c.workers);
  const pg = ms((c) => c.postgres);
  const redis = ms((c) => c.redis);
  const sim = ms((c) => c.bench);
  const total = worker + pg + redis + sim;
  const rawTotal = median(m.rawCpu.map((c) => (1000 * (c.bench + c.redis)) / m.lines));
  const busy = median(m.cpu.map((c) => c.machineBusy));
  const c = m.profile.perClone;
  const share = (names: string[]) =>
    100 *
    (m.profile.profile?.byCategory ?? [])
      .filter((x) => names.includes(x.category))
      .reduce((a, x) => a + x.share, 0);
  const drizzle = share(['drizzle-orm']);
  const sockets = share(['native: writev', 'native: writeBuffer', 'native: writeUtf8String']);
  const driver = share(['pg', 'pg-protocol']);
  return `**Why the ratio is what it is** (figures from this run). Per clone the machine spent
${fmt(total, 1)} ms of CPU: the worker ${fmt(worker, 2)}, the Postgres backends ${fmt(pg, 2)}, Redis ${fmt(redis, 2)}, the
simulator ${fmt(sim, 2)}. Per no-op job the raw worker and Redis together spent ${fmt(rawTotal, 2)} ms, ${fmt(total / rawTotal, 0)}× less.
With ${CORES} cores, CPU alone caps voxline near ${fmt((CORES * 1000) / total, 0)} clones/s on this machine (derived: cores ÷ CPU per clone; measured
${fmt(median(m.voxline), 0)}, the machine ${fmt(100 * busy, 0)} % busy), and the worker process by itself, being one thread, near
${fmt(1000 / worker, 0)}. That work is the durable state machine: each clone makes ${r2(c.pgQueries)} Postgres queries, ${r2(c.pgByKind.begin ?? 0)}
explicit transactions (${r2(c.pgByKind.commit ?? 0)} commits), and ${r2(c.redisRoundTrips)} Redis round trips, where the raw worker makes
${r2(m.profile.baselinePerJob.redisRoundTrips)} Redis round trip${m.profile.baselinePerJob.redisRoundTrips === 1 ? '' : 's'} and no query. In the worker's profile ${fmt(drizzle, 0)} % of its CPU is
drizzle-orm building SQL, ${fmt(sockets, 0)} % is writing to sockets (\`writev\`/\`writeBuffer\`: each query, command and
HTTP request is a write) and ${fmt(driver, 0)} % the pg driver: the cost follows the number of queries. The
${r2(c.pgConnectWaitMs)} ms per clone spent waiting for a pool connection is the 50 concurrent steps queueing for
DATABASE_POOL_MAX = 10 connections: waiting in front of Postgres, not work.`;
}
