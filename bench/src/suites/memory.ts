import { newId } from '@voxline/db';
import { catalog, createRedis, jobIds, PRIORITY } from '@voxline/queue';
import { waitFor } from '@voxline/testing/wait';
import { Queue } from 'bullmq';
import { type BenchContext, inRun } from '../context.js';
import { type Figure, fmt, MB, type Section, table } from '../report.js';
import { batchProgress } from '../services/database.js';
import { RssSampler } from '../services/processes.js';
import { prefixMemory, usedMemory } from '../services/redis.js';
import { SIM_KEY, startBenchSimulator } from '../services/simulator.js';
import { startApiProcess, startWorkerProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';
import { max, median } from '../util/stats.js';
import { sleep } from '../util/wait.js';
import { adminTenant, batchBody, postBatch } from './accept.js';

const HOUR = 3_600_000;
const HOLD_MS = 6_000;

interface MemoryRun {
  idle: { api: number; worker: number };
  apiPeakAccepting: number;
  apiHold: number;
  workerPeakRamp: number;
  workerHold: number;
  rampSeconds: number;
  redisInFlight: number;
  redisAfter: number;
  prefixInFlight: number;
  prefixAfter: number;
  afterKinds: Record<string, { keys: number; bytes: number }>;
  inFlightKinds: Record<string, { keys: number; bytes: number }>;
  completeSeconds: number;
}

async function redisUsed(ctx: BenchContext): Promise<number> {
  const reads: number[] = [];
  for (let i = 0; i < 3; i++) {
    reads.push(await usedMemory(ctx.redis));
    await sleep(100);
  }
  return median(reads);
}

async function memoryRun(ctx: BenchContext, lines: number): Promise<MemoryRun> {
  return inRun(ctx, 'memory', async (scope) => {
    // Tasks that run for an hour by the simulator's clock stay in flight until it is moved on.
    const sim = await startBenchSimulator({
      maxInFlight: lines,
      durations: { baseMs: HOUR, perCharMs: 0, sigma: 0 },
    });
    scope.defer(() => sim.close());
    const api = await startApiProcess(scope.target);
    scope.own(api.child);
    const worker = scope.own(
      await startWorkerProcess(scope.target, sim.url, {
        env: {
          RUNNINGHUB_MAX_IN_FLIGHT: String(lines),
          // Long tasks are polled every POLL_MAX_INTERVAL_MS once the schedule has learned they
          // are long; setting the minimum to it too gives that steady state from the start.
          POLL_MIN_INTERVAL_MS: '30000',
          POLL_MAX_INTERVAL_MS: '30000',
        },
      }),
    );
    const client = { url: api.url, key: await adminTenant(api.url) };
    const sampler = new RssSampler(
      [
        { name: 'api', pid: api.child.pid },
        { name: 'worker', pid: worker.pid },
      ],
      200,
    ).start();
    scope.defer(() => sampler.stop());

    // Let start-up garbage go, then take the idle baseline.
    await sleep(3_000);
    sampler.take();
    await sleep(3_000);
    const idleSamples = sampler.take();
    const idle = {
      api: median(idleSamples.get('api') ?? []),
      worker: median(idleSamples.get('worker') ?? []),
    };
    const redisBefore = await redisUsed(ctx);
    const prefixBefore = await prefixMemory(ctx.redis, scope.prefix);

    const body = batchBody(narrationLines(lines, { seed: 5 }));
    const started = Date.now();
    await postBatch(client, body, lines);
    const accepting = sampler.take();
    const label = sim.handle.keyLabel(SIM_KEY);
    const batch = await ctx.db.pool.query<{ id: string }>('select id from batches limit 1');
    const batchId = batch.rows[0]?.id ?? '';
    await waitFor(
      `${lines} tasks in flight`,
      async () => {
        const inFlight = sim.handle.stats().inFlight.current[label] ?? 0;
        if (inFlight < lines) return false;
        return (await batchProgress(ctx.db, batchId)).running === lines;
      },
      { timeoutMs: 10 * 60_000, intervalMs: 500 },
    );
    const rampSeconds = (Date.now() - started) / 1000;
    const ramp = sampler.take();

    await sleep(HOLD_MS);
    const hold = sampler.take();
    const redisInFlight = await redisUsed(ctx);
    const prefixInFlight = await prefixMemory(ctx.redis, scope.prefix);

    sim.advance(2 * HOUR);
    const advancedAt = Date.now();
    await waitFor(
      `${lines} tasks to succeed`,
      async () => (await batchProgress(ctx.db, batchId)).succeeded === lines,
      { timeoutMs: 10 * 60_000, intervalMs: 500 },
    );
    const completeSeconds = (Date.now() - advancedAt) / 1000;
    // Removal of finished jobs happens as each completes; give the last ones a moment.
    await sleep(1_000);
    const redisAfter = await redisUsed(ctx);
    const prefixAfter = await prefixMemory(ctx.redis, scope.prefix);

    return {
      idle,
      apiPeakAccepting: max([...(accepting.get('api') ?? []), ...(ramp.get('api') ?? [])]),
      apiHold: median(hold.get('api') ?? []),
      workerPeakRamp: max(ramp.get('worker') ?? []),
      workerHold: median(hold.get('worker') ?? []),
      rampSeconds,
      redisInFlight: redisInFlight - redisBefore,
      redisAfter: redisAfter - redisBefore,
      prefixInFlight: prefixInFlight.bytes - prefixBefore.bytes,
      prefixAfter: prefixAfter.bytes - prefixBefore.bytes,
      inFlightKinds: prefixInFlight.byKind,
      afterKinds: prefixAfter.byKind,
      completeSeconds,
    };
  });
}

interface RawMemory {
  used: number;
  prefix: number;
  byKind: Record<string, { keys: number; bytes: number }>;
}

/** Baseline: the same number of delayed BullMQ jobs carrying a poll step's payload. */
async function rawDelayedRun(ctx: BenchContext, lines: number): Promise<RawMemory> {
  return inRun(ctx, 'memory-raw', async (scope) => {
    const connection = createRedis(ctx.redisUrl, 'producer');
    const queue = new Queue(catalog.clonePoll.queue, { connection, prefix: scope.prefix });
    scope.defer(async () => {
      await queue.close();
      connection.disconnect();
    });
    await queue.waitUntilReady();
    const before = await redisUsed(ctx);
    const prefixBefore = await prefixMemory(ctx.redis, scope.prefix);
    const tenantId = newId();
    const jobs = Array.from({ length: lines }, (_, i) => {
      const id = newId();
      return {
        name: catalog.clonePoll.job,
        data: {
          cloneJobId: id,
          tenantId,
          run: 1,
          taskId: String(2_000_000_000_000_000_000n + BigInt(i)),
          submittedAt: Date.now(),
          polls: 0,
          queryErrors: 0,
        },
        opts: {
          ...catalog.clonePoll.options,
          priority: PRIORITY.batch,
          delay: HOUR,
          jobId: jobIds.poll(id, 1),
        },
      };
    });
    for (let i = 0; i < jobs.length; i += 1_000) await queue.addBulk(jobs.slice(i, i + 1_000));
    const used = (await redisUsed(ctx)) - before;
    const after = await prefixMemory(ctx.redis, scope.prefix);
    return { used, prefix: after.bytes - prefixBefore.bytes, byKind: after.byKind };
  });
}

const kindRows = (kinds: Record<string, { keys: number; bytes: number }>) =>
  Object.entries(kinds)
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, 8)
    .map(([kind, v]) => [`\`${kind}\``, fmt(v.keys, 0), fmt(v.bytes / MB, 2)]);

export async function memorySuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const lines = quick ? 1_000 : 10_000;
  const runs = quick ? 1 : 3;
  const results: MemoryRun[] = [];
  const raw: RawMemory[] = [];
  for (let run = 1; run <= runs; run++) {
    ctx.log(`memory: run ${run}/${runs}: ${lines} tasks in flight`);
    const r = await memoryRun(ctx, lines);
    results.push(r);
    ctx.log(
      `memory:   worker ${fmt(r.workerHold / MB, 0)} MB, api ${fmt(r.apiHold / MB, 0)} MB, redis ${fmt(r.prefixInFlight / lines, 0)} B/job; ramp ${fmt(r.rampSeconds, 0)} s, completion ${fmt(r.completeSeconds, 0)} s`,
    );
    raw.push(await rawDelayedRun(ctx, lines));
  }
  const mb = (xs: number[]) => xs.map((x) => x / MB);
  const pick = (f: (r: MemoryRun) => number) => results.map(f);
  const n = fmt(lines, 0);
  const figures: Figure[] = [
    {
      name: `Worker RSS, ${n} tasks in flight`,
      unit: 'MB',
      samples: mb(pick((r) => r.workerHold)),
      baseline: {
        name: 'same process idle, before the batch',
        samples: mb(pick((r) => r.idle.worker)),
      },
    },
    {
      name: `Worker RSS, peak while submitting ${n} tasks`,
      unit: 'MB',
      samples: mb(pick((r) => r.workerPeakRamp)),
      baseline: { name: 'idle', samples: mb(pick((r) => r.idle.worker)) },
    },
    {
      name: `API RSS, peak while accepting ${n} lines (one request)`,
      unit: 'MB',
      samples: mb(pick((r) => r.apiPeakAccepting)),
      baseline: { name: 'idle', samples: mb(pick((r) => r.idle.api)) },
    },
    {
      name: `API RSS afterwards, ${n} tasks in flight`,
      unit: 'MB',
      samples: mb(pick((r) => r.apiHold)),
      baseline: { name: 'idle', samples: mb(pick((r) => r.idle.api)) },
    },
    {
      name: 'Redis per in-flight job: used_memory delta ÷ jobs',
      unit: 'B',
      samples: pick((r) => r.redisInFlight / lines),
      decimals: 0,
      baseline: {
        name: 'raw BullMQ delayed job, same payload',
        samples: raw.map((r) => r.used / lines),
      },
    },
    {
      name: "Redis per in-flight job: MEMORY USAGE of the prefix's keys ÷ jobs",
      unit: 'B',
      samples: pick((r) => r.prefixInFlight / lines),
      decimals: 0,
      baseline: { name: 'raw BullMQ delayed job', samples: raw.map((r) => r.prefix / lines) },
    },
    {
      name: `Redis after all ${n} succeeded: used_memory above the pre-batch level`,
      unit: 'MB',
      samples: mb(pick((r) => r.redisAfter)),
      baseline: { name: `with ${n} in flight`, samples: mb(pick((r) => r.redisInFlight)) },
      ratio: { label: 'of the in-flight level' },
    },
    {
      name: "Redis after completion: MEMORY USAGE of the prefix's keys",
      unit: 'MB',
      samples: mb(pick((r) => r.prefixAfter)),
      baseline: { name: 'with the jobs in flight', samples: mb(pick((r) => r.prefixInFlight)) },
      ratio: { label: 'of the in-flight level' },
    },
  ];
  const last = results[results.length - 1];
  return {
    id: 'memory',
    title: '5. Memory',
    method: `Spawned API and worker processes (RSS = \`VmRSS\` from \`/proc/<pid>/status\`, sampled every 200 ms),
the simulator in the bench process with maxInFlight ${n} and tasks lasting an hour by its clock, and
RUNNINGHUB_MAX_IN_FLIGHT ${n}. The worker polls long tasks every 30 s (POLL_MIN and POLL_MAX_INTERVAL_MS
30000: where the default schedule settles for long tasks). Per run: 3 s to settle after start-up, 3 s idle (the baselines), one
${n}-line POST /v1/batches, wait until all ${n} tasks are in flight upstream and \`running\` in
Postgres, hold ${HOLD_MS / 1000} s (the in-flight figures are medians over the hold), then move the
simulator's clock on two hours so every task is finished at its next poll, and wait until all
succeeded. Redis: \`INFO memory\` used_memory (the whole server, which other clients share) and the sum of
\`MEMORY USAGE\` over the run's own prefix (exact for the bench's keys). Baseline for Redis: ${n} delayed
BullMQ jobs with a poll step's payload and options added to an empty prefix.`,
    figures,
    notes: [
      `Time to get all ${n} tasks in flight from the POST: ${results.map((r) => fmt(r.rampSeconds, 0)).join(' / ')} s; to
record all of them succeeded once finished upstream: ${results.map((r) => fmt(r.completeSeconds, 0)).join(' / ')} s
(polls come every 30 s).`,
      last
        ? `What the prefix holds (last run), with the tasks in flight and after completion:

${table(['Key kind, in flight', 'Keys', 'MB'], kindRows(last.inFlightKinds))}

${table(['Key kind, after completion', 'Keys', 'MB'], kindRows(last.afterKinds))}

Finished jobs are kept per the catalog (removeOnComplete: the last 1,000 per queue, at most an hour),
and each queue keeps an event stream capped by BullMQ (about 10,000 entries): what stays is bounded
by those caps, not by the number of jobs that ran.`
        : '',
      last ? whyNote(lines, last, raw[raw.length - 1]) : '',
    ],
    headline: [
      `Memory with ${n} tasks in flight: worker RSS ${fmt(median(mb(pick((r) => r.workerHold))), 0)} MB (idle ${fmt(median(mb(pick((r) => r.idle.worker))), 0)} MB), API RSS peak while accepting ${n} lines ${fmt(median(mb(pick((r) => r.apiPeakAccepting))), 0)} MB; Redis ${fmt(median(pick((r) => r.prefixInFlight / lines)), 0)} B per in-flight job (a bare delayed BullMQ job: ${fmt(median(raw.map((r) => r.prefix / lines)), 0)} B); after completion ${fmt(median(mb(pick((r) => r.prefixAfter))), 1)} MB remain under the prefix.`,
    ],
  };
}

function whyNote(lines: number, run: MemoryRun, raw: RawMemory | undefined): string {
  const kinds = new Set([...Object.keys(run.inFlightKinds), ...Object.keys(raw?.byKind ?? {})]);
  const rows = [...kinds]
    .map((kind) => ({
      kind,
      voxline: (run.inFlightKinds[kind]?.bytes ?? 0) / lines,
      raw: (raw?.byKind[kind]?.bytes ?? 0) / lines,
    }))
    .filter((r) => r.voxline >= 1 || r.raw >= 1)
    .sort((a, b) => b.voxline - a.voxline)
    .map((r) => [`\`${r.kind}\``, fmt(r.voxline, 0), fmt(r.raw, 0)]);
  return `**Why a voxline in-flight job costs more Redis than a bare delayed job** (last run, bytes per
in-flight job by key kind; MEMORY USAGE):

${table(['Key kind', 'voxline', 'bare delayed job'], rows)}

Besides the poll job itself, an in-flight clone holds a lease in \`upstream-slots\`, and the queues
keep finished submit jobs (up to 1,000, per the catalog's removeOnComplete) and event-stream entries
(BullMQ caps each stream near 10,000 entries); those last two are bounded, so their share per job
falls as the number in flight grows.`;
}
