import type { BenchContext } from '../context.js';
import { type Figure, fmt, type Section, spread, table } from '../report.js';
import { CPU_HEADER, cpuCells } from '../services/e2e.js';
import { stageNote } from '../services/timeline.js';
import { mean, median, percentile, sum } from '../util/stats.js';
import { REALISTIC, type UtilisationRun, utilisationRun } from './upstream.js';

// The issue's goals with callbacks (issue 14).
const GOAL_LAG_P95_MS = 300;
const GOAL_QUERIES = 1.1;
const GOAL_BUSY = 0.97;

/**
 * Item 3's measurement (the same workload, seeds and figures) with callbacks on: the
 * simulator POSTs each task's end to the submit's webhookUrl, a spawned API receives it and
 * wakes the task's poll. A warm-up round first, as in production where callbacks have been
 * arriving: the worker stretches its polls only once it has seen callbacks for the kind of task.
 */
export async function callbacksSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const runs = quick ? 1 : 3;
  const plans = [
    { slots: 3, tasks: quick ? 9 : 18, warmUp: 6 },
    { slots: 50, tasks: quick ? 150 : 300, warmUp: 50 },
  ];
  const results = new Map<number, UtilisationRun[]>();
  for (let run = 1; run <= runs; run++) {
    for (const plan of plans) {
      ctx.log(`callbacks: run ${run}/${runs}: N=${plan.slots}, ${plan.tasks} tasks`);
      const r = await utilisationRun(ctx, { ...plan, seed: 10 + run, callbacks: true });
      ctx.log(
        `callbacks:   lag p95 ${fmt(percentile(r.lagMs, 95), 0)} ms, ${fmt(mean(r.queriesPerTask), 2)} queries/task, busy ${fmt(100 * r.steadyOccupancy, 1)} %, ${r.callbacks.delivered}/${r.callbacks.sent} callbacks delivered`,
      );
      results.set(plan.slots, [...(results.get(plan.slots) ?? []), r]);
    }
  }

  const figures: Figure[] = [];
  const goals: string[] = [];
  const rows: Array<Array<string | number>> = [];
  const pass = (ok: boolean) => (ok ? 'met' : '**not met**');
  for (const plan of plans) {
    const rs = results.get(plan.slots) ?? [];
    const lagP95 = rs.map((r) => percentile(r.lagMs, 95));
    const queries = rs.map((r) => mean(r.queriesPerTask));
    const busy = rs.map((r) => 100 * r.steadyOccupancy);
    figures.push(
      {
        name: `N = ${plan.slots}: lag p95, task ended upstream → line succeeded (stored included)`,
        unit: 'ms',
        samples: lagP95,
        decimals: 0,
      },
      {
        name: `N = ${plan.slots}: upstream queries per task (mean)`,
        unit: '',
        samples: queries,
        decimals: 2,
      },
      {
        name: `N = ${plan.slots}: upstream slots busy while a backlog waits`,
        unit: '%',
        samples: busy,
        decimals: 1,
      },
    );
    goals.push(
      `N = ${plan.slots}: lag p95 ${fmt(median(lagP95), 0)} ms (goal ≤ ${GOAL_LAG_P95_MS}), ${pass(median(lagP95) <= GOAL_LAG_P95_MS)}; ${fmt(median(queries), 2)} queries per task (goal ≤ ${GOAL_QUERIES}), ${pass(median(queries) <= GOAL_QUERIES)}; slots busy ${fmt(median(busy), 1)} % (goal ≥ ${100 * GOAL_BUSY} %), ${pass(median(busy) >= 100 * GOAL_BUSY)}.`,
    );
    const lags = rs.flatMap((r) => r.lagMs);
    const cb = (k: 'sent' | 'delivered' | 'failed' | 'lost') => sum(rs.map((r) => r.callbacks[k]));
    rows.push([
      plan.slots,
      fmt(median(rs.map((r) => r.meanTaskMs)) / 1000, 2),
      fmt(median(rs.map((r) => r.handoverMs)), 0),
      fmt(percentile(lags, 50), 0),
      fmt(percentile(lags, 95), 0),
      fmt(Math.max(...lags), 0),
      fmt(mean(rs.flatMap((r) => r.warmUpQueriesPerTask)), 2),
      `${cb('delivered')} / ${cb('sent')} (${cb('failed')} failed)`,
      fmt(100 * median(rs.map((r) => r.throughput / r.limit)), 0),
      rs.reduce((a, r) => a + r.failed, 0),
    ]);
  }
  return {
    id: 'callbacks',
    title: '8. Callbacks: lag, queries and busy slots when upstream calls back',
    headline: plans.map((plan) => {
      const rs = results.get(plan.slots) ?? [];
      return `With callbacks, N = ${plan.slots}: lag p95 ${spread(
        rs.map((r) => percentile(r.lagMs, 95)),
        'ms',
        0,
      )}, ${fmt(median(rs.map((r) => mean(r.queriesPerTask))), 2)} queries per task, slots busy ${fmt(median(rs.map((r) => 100 * r.steadyOccupancy)), 1)} % while work waits.`;
    }),
    method: `Item 3's workload and seeds (N slots on both sides; ${REALISTIC.baseMs} ms + ${REALISTIC.perCharMs} ms/char,
sigma ${REALISTIC.sigma}; default poll settings) with callbacks: a spawned API, and the worker
started with RUNNINGHUB_CALLBACK_BASE_URL = that API's address, so every submit carries a
\`webhookUrl\` with its own token; the simulator (in the bench process) POSTs each task's end to
it, the API answers 204 and wakes the task's poll job, whose query confirms the result; the
result links are served from memory by a file server in the bench process (as by upstream's
CDN), which the archive step downloads from. Default
CALLBACK_POLL_STRETCH and CALLBACK_TRUST_WINDOW_MS. Each run starts with an unmeasured warm-up
batch (${plans.map((p) => `${p.warmUp} lines at N = ${p.slots}`).join(', ')}), as in production where callbacks have been
arriving: polls are stretched only once a callback was seen for the kind of task. Lag = the
line's \`completed_at\` (stored in the folder store, verified, succeeded) − the simulator's
\`finishesAt\`; queries per task are the simulator's count for the measured batch; *slots busy*
as in item 3.`,
    figures,
    notes: [
      `**Goals** (issue 14): ${goals.join(' ')}`,
      `Per N, over all runs (lag: all tasks of all runs):

${table(
  [
    'N',
    'd (s)',
    'Idle slot time per hand-over (ms)',
    'Lag p50 (ms)',
    'Lag p95 (ms)',
    'Lag max (ms)',
    'Warm-up batch: queries per task',
    'Callbacks delivered / sent',
    'Whole-run throughput, % of N/d',
    'Failed',
  ],
  rows,
)}`,
      `Where the machine's CPU went during the measured batches (CPU-seconds per 1,000 lines, median of the runs; the API's share is in "Other", with other users' processes):

${table(
  ['N', ...CPU_HEADER],
  plans.map((plan) => {
    const rs = results.get(plan.slots) ?? [];
    return [
      plan.slots,
      ...cpuCells(
        rs.map((r) => r.cpu),
        plan.tasks,
      ),
    ];
  }),
)}`,
      stageNote(
        "The lag in parts (from each line's history: the API's `callback_received` event, the poll step's `result_received`, then `completed_at`):",
        plans.map((plan) => ({
          label: `N = ${plan.slots}`,
          parts: (results.get(plan.slots) ?? []).map((r) => r.stages),
        })),
      ),
    ],
  };
}
