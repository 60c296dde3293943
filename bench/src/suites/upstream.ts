import type { CallbackStats } from '@voxline/runninghub-sim';
import { type BenchContext, inRun } from '../context.js';
import { type Figure, fmt, type Section, spread, table } from '../report.js';
import { batchTimes, benchTenant } from '../services/database.js';
import { type CpuSplit, runBatch, runQueues } from '../services/e2e.js';
import { startResultFiles } from '../services/files.js';
import { SIM_KEY, type SimTaskView, startBenchSimulator } from '../services/simulator.js';
import { startApiProcess, startWorkerProcess } from '../services/stack.js';
import {
  type LagParts,
  lagNote,
  lagParts,
  type StageParts,
  stageNote,
  stageParts,
} from '../services/timeline.js';
import { narrationLines } from '../util/lines.js';
import { mean, median, percentile } from '../util/stats.js';

/**
 * Realistic task durations: 2.5 s plus 10 ms per character (lines of 40-200 characters), times
 * a log-normal factor with sigma 0.3 — a mean of about 3.9 s.
 */
export const REALISTIC = { baseMs: 2_500, perCharMs: 10, sigma: 0.3 };

export interface UtilisationRun {
  slots: number;
  tasks: number;
  /** Mean upstream task duration (finishesAt − createdAt), ms. */
  meanTaskMs: number;
  /** Completed lines per second, from the start of queueing to the last completed_at. */
  throughput: number;
  /** The limit N/d, tasks per second. */
  limit: number;
  /** Busy share of the N upstream slots while a backlog was waiting (first to last submit). */
  steadyOccupancy: number;
  /** Mean idle time of a slot between one task finishing upstream and the next starting, ms. */
  handoverMs: number;
  /** completed_at − finishesAt, per task, ms. */
  lagMs: number[];
  /** Upstream queries per task of the measured batch (the simulator's count). */
  queriesPerTask: number[];
  /** The same for the warm-up batch, when there was one. */
  warmUpQueriesPerTask: number[];
  parts: LagParts;
  stages: StageParts;
  /** Where the machine's CPU went during the measured batch. */
  cpu: CpuSplit;
  /** The simulator's callback counts (zero without callbacks). */
  callbacks: CallbackStats;
  rejected421: number;
  failed: number;
}

/** Upstream busy time of the N slots inside [from, to], as a share of N × (to − from). */
export function occupancy(tasks: SimTaskView[], slots: number, from: number, to: number): number {
  if (to <= from) return Number.NaN;
  let busy = 0;
  for (const t of tasks) {
    const end = t.finishesAt ?? to;
    busy += Math.max(0, Math.min(end, to) - Math.max(t.createdAt, from));
  }
  return busy / (slots * (to - from));
}

export interface UtilisationOptions {
  slots: number;
  tasks: number;
  seed: number;
  /**
   * Submits carry a webhookUrl (RUNNINGHUB_CALLBACK_BASE_URL = a spawned API's address) and the
   * simulator POSTs each task's end to it.
   */
  callbacks?: boolean;
  /** Lines of an unmeasured batch run first (the schedule and the callback record warm up). */
  warmUp?: number;
}

export async function utilisationRun(
  ctx: BenchContext,
  options: UtilisationOptions,
): Promise<UtilisationRun> {
  const label = `${options.callbacks ? 'callbacks' : 'upstream'}-${options.slots}`;
  return inRun(ctx, label, async (scope) => {
    // Result files come from memory, as from upstream's CDN: the simulator renders each one
    // on download, in this process, which would slow the callbacks and answers it sends too.
    const files = await startResultFiles();
    scope.defer(() => files.close());
    const sim = await startBenchSimulator({
      maxInFlight: options.slots,
      durations: REALISTIC,
      seed: options.seed,
      publicUrl: files.url,
    });
    scope.defer(() => sim.close());
    const env: Record<string, string> = { RUNNINGHUB_MAX_IN_FLIGHT: String(options.slots) };
    if (options.callbacks) {
      const api = await startApiProcess(scope.target);
      scope.own(api.child);
      env.RUNNINGHUB_CALLBACK_BASE_URL = api.url;
    }
    const worker = scope.own(await startWorkerProcess(scope.target, sim.url, { env }));
    const tenant = await benchTenant(ctx.db);
    const queues = runQueues(ctx, scope);
    const queries = (tasks: SimTaskView[]) => tasks.map((t) => t.queries);
    let warmUpQueriesPerTask: number[] = [];
    if (options.warmUp) {
      const warm = narrationLines(options.warmUp, { seed: 500 + options.seed, tag: 'Warm' });
      await runBatch(ctx, queues, { tenantId: tenant.id, texts: warm, workers: [worker] });
      warmUpQueriesPerTask = queries(sim.handle.tasks());
    }
    const before = new Set(sim.handle.tasks().map((t) => t.taskId));
    const texts = narrationLines(options.tasks, { seed: options.seed });
    const result = await runBatch(ctx, queues, { tenantId: tenant.id, texts, workers: [worker] });
    const simKey = sim.handle.keyLabel(SIM_KEY);
    const tasks = sim.handle.tasks().filter((t) => t.key === simKey && !before.has(t.taskId));
    const byTask = new Map(tasks.map((t) => [t.taskId, t]));
    const lagMs: number[] = [];
    const rows = await batchTimes(ctx.db, result.batchId);
    const parts = await lagParts(ctx, scope.prefix, result.batchId, rows, tasks);
    const stages = await stageParts(ctx.db, result.batchId, rows, tasks);
    for (const row of rows) {
      const task = row.taskId ? byTask.get(row.taskId) : undefined;
      if (task?.finishesAt != null && row.completedAt !== null) {
        lagMs.push(row.completedAt - task.finishesAt);
      }
    }
    const durations = tasks
      .filter((t) => t.finishesAt !== null)
      .map((t) => (t.finishesAt as number) - t.createdAt);
    const meanTaskMs = mean(durations);
    const starts = tasks.map((t) => t.createdAt).sort((a, b) => a - b);
    const firstStart = starts[0] ?? 0;
    const lastStart = starts[starts.length - 1] ?? 0;
    const steadyOccupancy = occupancy(tasks, options.slots, firstStart, lastStart);
    // Slot-time left idle while work was waiting, spread over the hand-overs in that window.
    const handovers = Math.max(1, starts.length - options.slots);
    const idle = (1 - steadyOccupancy) * options.slots * (lastStart - firstStart);
    const stats = sim.handle.stats();
    return {
      slots: options.slots,
      tasks: options.tasks,
      meanTaskMs,
      throughput: result.throughput,
      limit: options.slots / (meanTaskMs / 1000),
      steadyOccupancy,
      handoverMs: idle / handovers,
      lagMs,
      queriesPerTask: queries(tasks),
      warmUpQueriesPerTask,
      parts,
      stages,
      cpu: result.cpu,
      callbacks: stats.callbacks,
      rejected421: stats.rejected['421'] ?? 0,
      failed: result.failed,
    };
  });
}

function whyNote(slots: number, rs: UtilisationRun[]): string {
  const d = median(rs.map((r) => r.meanTaskMs));
  const h = median(rs.map((r) => r.handoverMs));
  const occ = median(rs.map((r) => r.steadyOccupancy));
  const util = median(rs.map((r) => r.throughput / r.limit));
  const lags = rs.flatMap((r) => r.lagMs);
  const parts = rs.map((r) => r.parts);
  const all = (k: keyof LagParts) => parts.flatMap((x) => x[k]);
  const lag = percentile(lags, 50);
  return `**N = ${slots}, why** (figures from this run): while work waited, each slot sat idle a mean
${fmt(h, 0)} ms at every hand-over, against tasks of ${fmt(d, 0)} ms on average: d / (d + idle) = ${fmt((100 * d) / (d + h), 0)} %,
close to the ${fmt(100 * occ, 0)} % of slots measured busy. The poll lag is most of that idle time (p50 ${fmt(lag, 0)} ms, of which
the schedule ${fmt(percentile(all('schedule'), 50), 0)} ms, waiting in the queue ${fmt(percentile(all('queue'), 50), 0)} ms, the step ${fmt(percentile(all('step'), 50), 0)} ms); the rest is the hand-over
itself (record the result, release the slot, promote a waiting submit job, submit). Over the whole
run utilisation is ${fmt(100 * util, 0)} %: the ramp-up and above all the drain (the last round leaves slots empty
while its longest tasks finish) weigh on a run of only ${rs[0]?.tasks ?? 0} tasks.`;
}

export async function upstreamSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const runs = quick ? 1 : 3;
  // About 25 s of work per run at N/d (d ≈ 3.9 s): 6 rounds of N tasks.
  const plans = [
    { slots: 3, tasks: quick ? 9 : 18 },
    { slots: 50, tasks: quick ? 150 : 300 },
  ];
  const results = new Map<number, UtilisationRun[]>();
  for (let run = 1; run <= runs; run++) {
    for (const plan of plans) {
      ctx.log(`upstream: run ${run}/${runs}: N=${plan.slots}, ${plan.tasks} tasks`);
      const r = await utilisationRun(ctx, { ...plan, seed: 10 + run });
      ctx.log(
        `upstream:   ${fmt(r.throughput, 2)}/s vs N/d ${fmt(r.limit, 2)}/s, steady occupancy ${fmt(100 * r.steadyOccupancy, 0)} %`,
      );
      results.set(plan.slots, [...(results.get(plan.slots) ?? []), r]);
    }
  }

  const figures: Figure[] = [];
  const rows: Array<Array<string | number>> = [];
  for (const plan of plans) {
    const rs = results.get(plan.slots) ?? [];
    figures.push(
      {
        name: `N = ${plan.slots}: throughput, ${plan.tasks} tasks (whole run, ramp and drain included)`,
        unit: 'tasks/s',
        samples: rs.map((r) => r.throughput),
        decimals: 2,
        baseline: {
          name: 'N/d',
          derived: "N ÷ the mean duration of the run's tasks",
          samples: rs.map((r) => r.limit),
        },
        ratio: {
          label: 'utilisation (per-run ratio)',
          samples: rs.map((r) => r.throughput / r.limit),
        },
      },
      {
        name: `N = ${plan.slots}: upstream slots busy while a backlog waits`,
        unit: '%',
        samples: rs.map((r) => 100 * r.steadyOccupancy),
        decimals: 1,
      },
    );
    const lags = rs.flatMap((r) => r.lagMs);
    rows.push([
      plan.slots,
      fmt(median(rs.map((r) => r.meanTaskMs)) / 1000, 2),
      fmt(median(rs.map((r) => r.handoverMs)), 0),
      fmt(percentile(lags, 50), 0),
      fmt(percentile(lags, 95), 0),
      rs.reduce((a, r) => a + r.rejected421, 0),
      rs.reduce((a, r) => a + r.failed, 0),
    ]);
  }
  const headline = plans.map((plan) => {
    const rs = results.get(plan.slots) ?? [];
    return `Upstream slots kept busy while work waits, N = ${plan.slots}: ${spread(
      rs.map((r) => 100 * r.steadyOccupancy),
      '%',
      0,
    )}; whole-run throughput ${fmt(100 * median(rs.map((r) => r.throughput / r.limit)), 0)} % of N/d (derived: throughput ÷ N/d).`;
  });
  return {
    headline,
    id: 'upstream',
    title: '3. Keeping the upstream busy',
    method: `One spawned worker process with RUNNINGHUB_MAX_IN_FLIGHT = N, and the simulator (in the
bench process) allowing N tasks in flight, with task durations of ${REALISTIC.baseMs} ms + ${REALISTIC.perCharMs} ms
per character (40–200 characters) times a log-normal factor (sigma ${REALISTIC.sigma}); default poll
settings (POLL_MIN_INTERVAL_MS 1 s, POLL_MAX_INTERVAL_MS 30 s), nothing learned before the run.
Result links are served from memory by a file server in the bench process (as by upstream's
CDN); the archive step copies each into the run's folder store before the line succeeds.
d is the mean of the simulator's actual task durations in that run (finishesAt − createdAt: a
queued task holds a slot too), so N/d is the most any client could complete per second.
*Throughput* counts from the start of queueing to the last \`completed_at\`, so it includes the
ramp-up and the drain (the last round of tasks leaves slots empty whoever the client is).
*Slots busy while a backlog waits* is the upstream's own view: the share of N slots occupied by
tasks between the first and the last submission, when every free slot could have been used.`,
    figures,
    notes: [
      `Per N, medians over the runs (lag and hand-over: all tasks of all runs):

${table(
  [
    'N',
    'd (s)',
    'Idle slot time per hand-over (ms)',
    'Lag p50: finished upstream → succeeded (ms)',
    'Lag p95 (ms)',
    '421 answers',
    'Failed',
  ],
  rows,
)}

A slot is handed over in three steps: the task finishes upstream; voxline's next poll sees it
(the lag above, set by the poll schedule); the job records the result, releases its slot and
promotes the first waiting submit job, which takes the slot and submits. The idle time per
hand-over is the sum.`,
      ...plans.map((plan) => whyNote(plan.slots, results.get(plan.slots) ?? [])),
      ...plans.map(
        (plan) =>
          `N = ${plan.slots}: ${lagNote((results.get(plan.slots) ?? []).map((r) => r.parts))}`,
      ),
      stageNote(
        "The lag to the result (the poll step's `result_received`, when the slot is freed) and from there through the archive step to `succeeded`, from each line's history:",
        plans.map((plan) => ({
          label: `N = ${plan.slots}`,
          parts: (results.get(plan.slots) ?? []).map((r) => r.stages),
        })),
      ),
    ],
  };
}
