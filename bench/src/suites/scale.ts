import { type BenchContext, inRun } from '../context.js';
import { type Figure, fmt, type Section, table } from '../report.js';
import { benchTenant } from '../services/database.js';
import {
  CORES,
  CPU_HEADER,
  type CpuSplit,
  cpuCells,
  runBatch,
  runQueues,
} from '../services/e2e.js';
import type { Child } from '../services/processes.js';
import { profiledWorkerRun, roundTripNotes } from '../services/profiled.js';
import { startBenchSimulator } from '../services/simulator.js';
import { startWorkerProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';
import { median } from '../util/stats.js';

const SLOTS = 1_000;
// Small but not zero: every clone takes a submit step and at least one poll step.
const SHORT = { baseMs: 200, perCharMs: 0, sigma: 0.3 };
const COUNTS = [1, 2, 4];

async function scaleRun(
  ctx: BenchContext,
  workers: number,
  texts: string[],
): Promise<{ throughput: number; failed: number; cpu: CpuSplit }> {
  return inRun(ctx, `scale-${workers}`, async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: SHORT });
    scope.defer(() => sim.close());
    const children: Child[] = [];
    for (let i = 1; i <= workers; i++) {
      children.push(
        scope.own(
          await startWorkerProcess(scope.target, sim.url, {
            name: `worker-${i}`,
            env: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS) },
          }),
        ),
      );
    }
    const tenant = await benchTenant(ctx.db);
    const result = await runBatch(ctx, runQueues(ctx, scope), {
      tenantId: tenant.id,
      texts,
      workers: children,
    });
    return { throughput: result.throughput, failed: result.failed, cpu: result.cpu };
  });
}

function whyNote(
  results: Map<number, Array<{ throughput: number; cpu: CpuSplit }>>,
  lines: number,
): string {
  const at = (count: number) => results.get(count) ?? [];
  const perClone = (count: number, f: (c: CpuSplit) => number) =>
    median(at(count).map((r) => (1000 * f(r.cpu)) / lines));
  const total = (count: number) =>
    perClone(count, (c) => c.workers + c.postgres + c.redis + c.bench);
  const busy = median(at(1).map((r) => r.cpu.machineBusy));
  const last = COUNTS[COUNTS.length - 1] ?? 1;
  const best = Math.max(
    ...COUNTS.slice(1).map(
      (count) =>
        median(at(count).map((r) => r.throughput)) / median(at(1).map((r) => r.throughput)),
    ),
  );
  const head = `**Why** (figures from this run): with one worker process the machine was ${fmt(100 * busy, 0)} % busy, and
a clone cost ${fmt(total(1), 1)} ms of CPU in all (worker ${fmt(
    perClone(1, (c) => c.workers),
    2,
  )}, Postgres ${fmt(
    perClone(1, (c) => c.postgres),
    2,
  )}): ${CORES} cores
cap that near ${fmt((CORES * 1000) / total(1), 0)} clones/s whoever does the work.`;
  if (best >= 1.2) {
    return `${head} Extra processes raised throughput up to ${fmt(best, 2)}× by using CPU one process left idle
(a clone costs ${fmt(total(last), 1)} ms of CPU with ${last} processes).`;
  }
  return `${head} More worker processes do not add cores;
they add CPU per clone (${fmt(total(last), 1)} ms with ${last}; the workers' own share went from ${fmt(
    perClone(1, (c) => c.workers),
    2,
  )} to
${fmt(
  perClone(last, (c) => c.workers),
  2,
)} ms: more processes sharing the same cores). The design scales out — no process
keeps state another needs; slots, waiters and the poll schedule live in Redis — but showing it
needs cores for the extra workers and for Postgres: on this machine the figure measures
contention, not voxline's scale-out.`;
}

export async function scaleSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const runs = quick ? 1 : 3;
  const lines = quick ? 1_000 : 1_500;
  const texts = narrationLines(lines, { seed: 6 });
  const results = new Map<number, Array<{ throughput: number; failed: number; cpu: CpuSplit }>>();
  for (let run = 1; run <= runs; run++) {
    for (const count of COUNTS) {
      ctx.log(`scale: run ${run}/${runs}: ${count} worker process(es), ${lines} clones`);
      const r = await scaleRun(ctx, count, texts);
      ctx.log(
        `scale:   ${fmt(r.throughput, 1)} clones/s, machine ${fmt(100 * r.cpu.machineBusy, 0)} % busy`,
      );
      results.set(count, [...(results.get(count) ?? []), r]);
    }
  }
  ctx.log('scale: profiling run (1 worker process)');
  const profile = await profiledWorkerRun(ctx, {
    label: 'scale-profile',
    lines: quick ? 500 : 1_000,
    slots: SLOTS,
    durations: SHORT,
    seed: 7,
  });
  const one = (results.get(1) ?? []).map((r) => r.throughput);
  const figures: Figure[] = COUNTS.map((count) => {
    const rs = results.get(count) ?? [];
    return {
      name: `${count} worker process${count > 1 ? 'es' : ''}: ${fmt(lines, 0)} clones end to end`,
      unit: 'clones/s',
      samples: rs.map((r) => r.throughput),
      ...(count > 1
        ? {
            baseline: { name: '1 worker process', samples: one },
            ratio: { label: 'speed-up' },
          }
        : {}),
    };
  });
  const cpuRow = (count: number) => {
    const rs = results.get(count) ?? [];
    return [
      count,
      ...cpuCells(
        rs.map((r) => r.cpu),
        lines,
      ),
      rs.reduce((a, r) => a + r.failed, 0),
    ];
  };
  const one1 = median(one);
  const speedups = COUNTS.slice(1).map(
    (count) =>
      `${count}: ${fmt(median((results.get(count) ?? []).map((r) => r.throughput)) / one1, 2)}×`,
  );
  return {
    headline: [
      `Scale-out on this ${CORES}-core machine (speed-up over 1 worker process): ${speedups.join(', ')}.`,
    ],
    id: 'scale',
    title: '6. Scale out',
    method: `1, 2 and 4 spawned worker processes (each with the defaults: concurrency 50, a pool of 10
Postgres connections) share one Redis, one Postgres and one simulator; ${fmt(lines, 0)} clones per run,
task durations of ${SHORT.baseMs} ms × a log-normal factor (sigma ${SHORT.sigma}), ${fmt(SLOTS, 0)} slots on both
sides, default poll settings; timed as in item 2. The run order interleaves the process counts.`,
    figures,
    notes: [
      `Where the CPU went (medians; CPU-seconds per 1,000 clones; the machine has ${CORES} cores):

${table(['Worker processes', ...CPU_HEADER, 'Failed'], COUNTS.map(cpuRow))}`,
      whyNote(results, lines),
      ...roundTripNotes(profile, null).map(
        (note) => `With a poll step (this item's workload). ${note}`,
      ),
    ],
  };
}
