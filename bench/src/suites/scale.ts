import type { NodeProcess } from '@voxline/testing/process';
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
import { profiledWorkerRun, roundTripNotes } from '../services/profiled.js';
import { startBenchSimulator } from '../services/simulator.js';
import { startWorkerProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';
import { median } from '../util/stats.js';

const SLOTS = 1_000;
// Small but not zero: every clone takes a submit step and at least one poll step.
const SHORT = { baseMs: 200, perCharMs: 0, sigma: 0.3 };
const COUNTS = [1, 2, 4];

/** How the end of a run went: when 99 % of its lines were done, when the last one was. */
interface Tail {
  p99S: number;
  lastS: number;
  /** The last line's history, `kind to_status +seconds`, to tell a stall from a slow step. */
  slowest: string;
}

async function tailOf(ctx: BenchContext, batchId: string, startedAt: number): Promise<Tail> {
  const { rows } = await ctx.db.pool.query<{ p99: string; last: string; id: string }>(
    `select extract(epoch from percentile_disc(0.99) within group (order by completed_at)) * 1000 as p99,
            extract(epoch from max(completed_at)) * 1000 as last,
            (array_agg(id order by completed_at desc))[1] as id
       from clone_jobs where batch_id = $1`,
    [batchId],
  );
  const row = rows[0];
  const { rows: events } = await ctx.db.pool.query<{ kind: string; to: string | null; at: string }>(
    `select kind, to_status as to, extract(epoch from created_at) * 1000 as at
       from clone_job_events where clone_job_id = $1 order by id`,
    [row?.id],
  );
  return {
    p99S: (Number(row?.p99) - startedAt) / 1000,
    lastS: (Number(row?.last) - startedAt) / 1000,
    slowest: events
      .map(
        (e) => `${e.kind}${e.to ? ` ${e.to}` : ''} +${fmt((Number(e.at) - startedAt) / 1000, 1)} s`,
      )
      .join(', '),
  };
}

async function scaleRun(
  ctx: BenchContext,
  workers: number,
  texts: string[],
): Promise<{ throughput: number; failed: number; cpu: CpuSplit; tail: Tail }> {
  return inRun(ctx, `scale-${workers}`, async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: SHORT });
    scope.defer(() => sim.close());
    const children: NodeProcess[] = [];
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
    const tail = await tailOf(ctx, result.batchId, result.startedAt);
    return { throughput: result.throughput, failed: result.failed, cpu: result.cpu, tail };
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
cap that near ${fmt((CORES * 1000) / total(1), 0)} clones/s whoever does the work (derived: cores ÷ CPU per clone).`;
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

// A last line this much later than the 99th percentile was waiting on something, not working.
const STRAGGLER_S = 2;

/**
 * Each run's end: an outlier among the runs (a minimum far below the median) is either a slow
 * machine throughout, or one line left waiting at the end; the slowest line's history says which
 * step it waited in (a submit parked for a slot, a poll scheduled late).
 */
function tailNote(
  results: Map<number, Array<{ throughput: number; tail: Tail; cpu: CpuSplit }>>,
): string {
  const rows: Array<Array<string | number>> = [];
  for (const count of COUNTS) {
    for (const [i, r] of (results.get(count) ?? []).entries()) {
      const straggler = r.tail.lastS - r.tail.p99S > STRAGGLER_S;
      rows.push([
        count,
        i + 1,
        fmt(r.throughput, 0),
        fmt(r.tail.p99S, 1),
        fmt(r.tail.lastS, 1),
        `${fmt((100 * r.cpu.other) / (r.cpu.wallS * CORES), 0)} %`,
        straggler ? r.tail.slowest : '—',
      ]);
    }
  }
  const stragglers = [...results.values()]
    .flat()
    .filter((r) => r.tail.lastS - r.tail.p99S > STRAGGLER_S).length;
  return `**Each run's end** (seconds from queueing; the CPU that processes other than this item's took
during the run, as a share of the machine; the last line's history when it finished more than
${STRAGGLER_S} s after the 99th percentile):

${table(['Worker processes', 'Run', 'Clones/s', '99 % done', 'Last done', 'Other processes', 'Last line (when a straggler)'], rows)}

${
  stragglers === 0
    ? "No run had a straggler: a slow run was slow throughout, and the spread between runs follows the CPU other processes took (Postgres' background work, the kernel, other users of the machine), not a stall."
    : `${stragglers} run(s) had a straggler: their throughput measures one line's wait, not the pipeline's rate. A wait of about SLOT_PARK_MS (30 s) in \`queued\` is a submit job parked for a slot whose wake-up it missed (its safety timer woke it); one of about POLL_MAX_INTERVAL_MS (30 s) in \`running\` is a late poll.`
}`;
}

export async function scaleSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const runs = quick ? 1 : 3;
  const lines = quick ? 1_000 : 1_500;
  const texts = narrationLines(lines, { seed: 6 });
  const results = new Map<
    number,
    Array<{ throughput: number; failed: number; cpu: CpuSplit; tail: Tail }>
  >();
  for (let run = 1; run <= runs; run++) {
    for (const count of COUNTS) {
      ctx.log(`scale: run ${run}/${runs}: ${count} worker process(es), ${lines} clones`);
      const r = await scaleRun(ctx, count, texts);
      ctx.log(
        `scale:   ${fmt(r.throughput, 1)} clones/s, machine ${fmt(100 * r.cpu.machineBusy, 0)} % busy; 99 % done at ${fmt(r.tail.p99S, 1)} s, last at ${fmt(r.tail.lastS, 1)} s: ${r.tail.slowest}`,
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
      `Scale-out on this ${CORES}-core machine (speed-up over 1 worker process, derived: ratio of median throughputs): ${speedups.join(', ')}.`,
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
      tailNote(results),
      whyNote(results, lines),
      ...roundTripNotes(profile, null).map(
        (note) => `With a poll step (this item's workload). ${note}`,
      ),
    ],
  };
}
