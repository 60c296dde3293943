import { RunningHubClient, type VoiceCloneParams } from '@voxline/runninghub';
import { type BenchContext, inRun } from '../context.js';
import { type Figure, fmt, type Section, table } from '../report.js';
import { batchTimes, benchTenant, VOICE } from '../services/database.js';
import { runBatch, runQueues } from '../services/e2e.js';
import { startResultFiles } from '../services/files.js';
import { SIM_KEY, type SimTaskView, startBenchSimulator } from '../services/simulator.js';
import { startWorkerProcess } from '../services/stack.js';
import {
  eventTimes,
  type LagParts,
  lagNote,
  lagParts,
  type StageParts,
  stageNote,
  stageParts,
} from '../services/timeline.js';
import { narrationLines } from '../util/lines.js';
import { mean, median, percentile } from '../util/stats.js';
import { sleep } from '../util/wait.js';
import { REALISTIC } from './upstream.js';

// Enough slots that every task is submitted at once: polling, not the slot limit, is measured.
const SLOTS = 1_000;
// The fixed poller's interval is tuned until its queries per task are within this of voxline's.
const QUERY_TOLERANCE = 0.03;
// Its search range and step.
const INTERVAL_RANGE_MS = { min: 100, max: 30_000, step: 10 };

interface PollingRun {
  queriesPerTask: number[];
  /** Upstream end → the answer that said so was read (voxline: `result_received`). */
  lagMs: number[];
  /** voxline only: upstream end → succeeded (the archive step included). */
  succeededLagMs?: number[];
  /** voxline only: the measured tasks' durations (finishesAt − createdAt), to tune the baseline. */
  durationsMs?: number[];
  /** The fixed poller only: its interval. */
  intervalMs?: number;
  parts?: LagParts;
  stages?: StageParts;
  /** voxline only: what the schedule had learned, against the tasks' actual durations. */
  learned?: Learned[];
}

interface Learned {
  bucket: string;
  /** The estimate when the measured batch was submitted: what placed its first polls. */
  atSubmitMs: number;
  /** The estimate after the measured batch. */
  atEndMs: number;
  warmUpMs: number[];
  durationsMs: number[];
}

// The schedule's text-length buckets (apps/worker/src/clone/poll-schedule.ts): lines here are
// 40-200 characters, so they fall in the first two.
const BUCKETS = [
  { index: 0, label: '≤ 80 characters', max: 80 },
  { index: 1, label: '81–200 characters', max: 200 },
];

async function estimates(ctx: BenchContext, prefix: string): Promise<number[]> {
  const hash = await ctx.redis.hgetall(`${prefix}:task-durations`);
  // Keyed by kind, model and bucket: the lines here are voice-clone calls.
  return BUCKETS.map((b) => Number(hash[`voice_clone|${VOICE.model}|${b.index}`] ?? Number.NaN));
}

const durationsIn = (tasks: SimTaskView[], b: (typeof BUCKETS)[number]) =>
  tasks
    .filter((t) => t.finishesAt !== null)
    .filter((t) =>
      b.index === 0 ? t.textLength <= b.max : t.textLength > 80 && t.textLength <= b.max,
    )
    .map((t) => (t.finishesAt as number) - t.createdAt);

function perTask(tasks: SimTaskView[], seenAt: Map<string, number>): PollingRun {
  const queriesPerTask: number[] = [];
  const lagMs: number[] = [];
  for (const t of tasks) {
    const seen = seenAt.get(t.taskId);
    if (seen === undefined || t.finishesAt === null) continue;
    queriesPerTask.push(t.queries);
    lagMs.push(seen - t.finishesAt);
  }
  return { queriesPerTask, lagMs };
}

/**
 * The queries per task a poller asking every `intervalMs` from the submit makes on tasks of
 * these durations: the k-th query (at k × interval) is the first to find a task done when
 * k × interval ≥ its duration.
 */
export function predictedQueries(durationsMs: number[], intervalMs: number): number {
  return mean(durationsMs.map((d) => Math.max(1, Math.ceil(d / intervalMs))));
}

/**
 * The interval whose predicted queries per task come closest to `target`; among equals the
 * shortest, which gives the fixed poller its least lag for that cost.
 */
export function intervalFor(durationsMs: number[], target: number): number {
  let best = INTERVAL_RANGE_MS.max;
  let bestGap = Number.POSITIVE_INFINITY;
  for (let i = INTERVAL_RANGE_MS.min; i <= INTERVAL_RANGE_MS.max; i += INTERVAL_RANGE_MS.step) {
    const gap = Math.abs(predictedQueries(durationsMs, i) - target);
    if (gap < bestGap - 1e-9) {
      best = i;
      bestGap = gap;
    }
  }
  return best;
}

/** voxline: a warm-up batch teaches the schedule task durations, then the measured batch. */
async function voxlineRun(ctx: BenchContext, texts: string[], seed: number): Promise<PollingRun> {
  return inRun(ctx, 'polling', async (scope) => {
    const files = await startResultFiles();
    scope.defer(() => files.close());
    const sim = await startBenchSimulator({
      maxInFlight: SLOTS,
      durations: REALISTIC,
      seed,
      publicUrl: files.url,
    });
    scope.defer(() => sim.close());
    const worker = scope.own(
      await startWorkerProcess(scope.target, sim.url, {
        env: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS) },
      }),
    );
    const tenant = await benchTenant(ctx.db);
    const queues = runQueues(ctx, scope);
    // Lengths of both text buckets the schedule keeps estimates for (≤ 80, ≤ 200 characters).
    const warm = narrationLines(60, { seed: 500, tag: 'Warm' });
    await runBatch(ctx, queues, { tenantId: tenant.id, texts: warm, workers: [worker] });
    // The measured tasks draw the same durations as the fixed poller's.
    sim.handle.setScenario({ seed });
    const warmTasks = sim.handle.tasks();
    const warmIds = new Set(warmTasks.map((t) => t.taskId));
    const atSubmit = await estimates(ctx, scope.prefix);
    const result = await runBatch(ctx, queues, { tenantId: tenant.id, texts, workers: [worker] });
    const rows = await batchTimes(ctx.db, result.batchId);
    const events = await eventTimes(ctx.db, result.batchId, ['result_received']);
    // The poll's own lag ends when its answer is recorded, as the fixed poller's does when read.
    const seenAt = new Map<string, number>();
    const doneAt = new Map<string, number>();
    for (const row of rows) {
      const seen = events.get(row.id)?.result_received;
      if (row.taskId && seen !== undefined) seenAt.set(row.taskId, seen);
      if (row.taskId && row.completedAt !== null) doneAt.set(row.taskId, row.completedAt);
    }
    const tasks = sim.handle.tasks().filter((t) => !warmIds.has(t.taskId));
    return {
      ...perTask(tasks, seenAt),
      succeededLagMs: perTask(tasks, doneAt).lagMs,
      durationsMs: tasks
        .filter((t) => t.finishesAt !== null)
        .map((t) => (t.finishesAt as number) - t.createdAt),
      parts: await lagParts(ctx, scope.prefix, result.batchId, rows, tasks),
      stages: await stageParts(ctx.db, result.batchId, rows, tasks),
      learned: await (async () => {
        const atEnd = await estimates(ctx, scope.prefix);
        return BUCKETS.map((b, i) => ({
          bucket: b.label,
          atSubmitMs: atSubmit[i] ?? Number.NaN,
          atEndMs: atEnd[i] ?? Number.NaN,
          warmUpMs: durationsIn(warmTasks, b),
          durationsMs: durationsIn(tasks, b),
        }));
      })(),
    };
  });
}

/** The baseline: submit every line, then query each task every `intervalMs` until it is terminal. */
async function fixedPollerRun(
  ctx: BenchContext,
  texts: string[],
  seed: number,
  run: number,
  intervalMs: number,
): Promise<PollingRun> {
  return inRun(ctx, 'polling-fixed', async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: REALISTIC, seed });
    scope.defer(() => sim.close());
    const client = new RunningHubClient({ baseUrl: sim.url, apiKey: SIM_KEY });
    scope.defer(() => client.close());
    const seenAt = new Map<string, number>();
    await Promise.all(
      texts.map(async (text, i) => {
        const params: VoiceCloneParams = {
          ...VOICE,
          model: 'speech-02-hd',
          custom_voice_id: `narrator01-f${run}x${i}`,
          text,
        };
        const task = await client.submitVoiceClone(params);
        for (;;) {
          await sleep(intervalMs);
          const state = await client.queryTask(task.taskId);
          if (state.terminal) {
            seenAt.set(task.taskId, Date.now());
            return;
          }
        }
      }),
    );
    return { ...perTask(sim.handle.tasks(), seenAt), intervalMs };
  });
}

/**
 * A fixed poller at voxline's cost: its interval predicted from the durations voxline's run met
 * (the same seed draws the same ones), run, and re-tuned once for the offset between predicted
 * and counted queries (answers take a few ms) if it missed by more than QUERY_TOLERANCE.
 */
async function equalCostRun(
  ctx: BenchContext,
  texts: string[],
  seed: number,
  run: number,
  voxline: PollingRun,
): Promise<{ chosen: PollingRun; tries: PollingRun[] }> {
  const durations = voxline.durationsMs ?? [];
  const target = mean(voxline.queriesPerTask);
  const tries: PollingRun[] = [];
  let interval = intervalFor(durations, target);
  for (let attempt = 1; attempt <= 2; attempt++) {
    ctx.log(
      `polling: run ${run}: fixed poller every ${fmt(interval, 0)} ms (predicted ${fmt(predictedQueries(durations, interval), 2)} queries per task, voxline ${fmt(target, 2)})`,
    );
    const r = await fixedPollerRun(ctx, texts, seed, run * 10 + attempt, interval);
    tries.push(r);
    const offset = mean(r.queriesPerTask) - predictedQueries(durations, interval);
    if (Math.abs(mean(r.queriesPerTask) - target) <= QUERY_TOLERANCE) break;
    const next = intervalFor(durations, target - offset);
    if (next === interval) break;
    interval = next;
  }
  const gap = (r: PollingRun) => Math.abs(mean(r.queriesPerTask) - target);
  const chosen = tries.reduce((a, b) => (gap(b) < gap(a) ? b : a));
  return { chosen, tries };
}

function learnedNote(runs: PollingRun[]): string {
  const rows = BUCKETS.map((b) => {
    const entries = runs.flatMap((r) => r.learned ?? []).filter((l) => l.bucket === b.label);
    const durations = entries.flatMap((e) => e.durationsMs);
    const warm = entries.flatMap((e) => e.warmUpMs);
    return [
      b.label,
      entries.map((e) => fmt(e.atSubmitMs, 0)).join(' / '),
      `${fmt(mean(warm), 0)} / ${fmt(percentile(warm, 90), 0)} / ${fmt(Math.max(...warm), 0)}`,
      `${fmt(mean(durations), 0)} / ${fmt(percentile(durations, 50), 0)} / ${fmt(percentile(durations, 90), 0)}`,
      entries.map((e) => fmt(e.atEndMs, 0)).join(' / '),
    ];
  });
  return `What the schedule had learned (the \`task-durations\` estimate per text-length bucket, read from
Redis) against the tasks it learned from and the tasks it scheduled:

${table(
  [
    'Bucket',
    'Estimate when the measured batch was submitted, per run (ms)',
    'Warm-up tasks: mean / p90 / max (ms)',
    'Measured tasks: mean / p50 / p90 (ms)',
    'Estimate after the measured batch (ms)',
  ],
  rows,
)}`;
}

function whyNote(voxline: PollingRun[], fixed: PollingRun[]): string {
  const parts = voxline.flatMap((r) => (r.parts ? [r.parts] : []));
  const schedule = percentile(
    parts.flatMap((x) => x.schedule),
    50,
  );
  const lag = percentile(
    voxline.flatMap((r) => r.lagMs),
    50,
  );
  const fixedLag = percentile(
    fixed.flatMap((r) => r.lagMs),
    50,
  );
  const learned = voxline.flatMap((r) => r.learned ?? []);
  const biased = BUCKETS.map((b) => {
    const entries = learned.filter((l) => l.bucket === b.label);
    const durations = entries.flatMap((e) => e.durationsMs);
    const warm = entries.flatMap((e) => e.warmUpMs);
    // Each run's tasks against the estimate their first polls were placed with.
    const early = entries.reduce(
      (n, e) => n + e.durationsMs.filter((x) => x < 0.9 * e.atSubmitMs).length,
      0,
    );
    return {
      label: b.label,
      estimate: median(entries.map((e) => e.atSubmitMs)),
      mean: mean(durations),
      warmMean: mean(warm),
      warmP90: percentile(warm, 90),
      share: early / Math.max(1, durations.length),
    };
  });
  const lines = biased.map(
    (b) =>
      `${b.label}: ${fmt(b.estimate, 0)} ms against an actual mean of ${fmt(b.mean, 0)} ms (${b.estimate > b.mean ? '+' : ''}${fmt((100 * (b.estimate - b.mean)) / b.mean, 0)} %; the warm-up's own tasks averaged ${fmt(b.warmMean, 0)} ms, p90 ${fmt(b.warmP90, 0)} ms), so ${fmt(100 * b.share, 0)} % of the measured tasks had finished before their first poll`,
  );
  const same = fixed.map((r) => fmt(r.intervalMs ?? Number.NaN, 0)).join(' / ');
  return `**Why** (figures from this run): at the same cost — the fixed poller asks every ${same} ms
(per run), the interval at which it makes as many queries per task as voxline — voxline's p50 lag is
${fmt(lag, 0)} ms against the fixed poller's ${fmt(fixedLag, 0)} ms; the schedule accounts for
${fmt(schedule, 0)} ms of voxline's (the poll that finds a task done is due after the task ended;
queueing and the step take tens of milliseconds). Two things set that schedule
(\`apps/worker/src/clone/poll-schedule.ts\`). The first query goes at 0.9 × the learned estimate, a
moving average (weight 0.2) updated as tasks finish; when the measured batch was submitted it stood
at — ${lines.join('; ')}.${
    biased.some((b) => b.estimate > 1.1 * b.mean)
      ? ' A batch submitted together finishes shortest first, so the latest observations, which weigh most, are its longest tasks: the estimate ends near the tail of the batch it learned from, not its mean.'
      : ''
  } Once a task is overdue, the next query waits max(POLL_MIN_INTERVAL_MS = 1 s, 0.15 × its age).
A fixed interval spends the same queries evenly over every task's life, whatever its length.`;
}

export async function pollingSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const runs = quick ? 1 : 3;
  const lines = quick ? 60 : 300;
  const voxline: PollingRun[] = [];
  const fixed: PollingRun[] = [];
  const tuning: Array<Array<string | number>> = [];
  for (let run = 1; run <= runs; run++) {
    const seed = 20 + run;
    const texts = narrationLines(lines, { seed });
    ctx.log(`polling: run ${run}/${runs}: voxline, ${lines} tasks`);
    const v = await voxlineRun(ctx, texts, seed);
    voxline.push(v);
    const { chosen, tries } = await equalCostRun(ctx, texts, seed, run, v);
    fixed.push(chosen);
    for (const t of tries) {
      tuning.push([
        run,
        fmt(mean(v.queriesPerTask), 3),
        fmt(t.intervalMs ?? Number.NaN, 0),
        fmt(predictedQueries(v.durationsMs ?? [], t.intervalMs ?? 1), 3),
        fmt(mean(t.queriesPerTask), 3),
        fmt(percentile(t.lagMs, 50), 0),
        fmt(percentile(t.lagMs, 95), 0),
        t === chosen ? 'yes' : 'no',
      ]);
    }
  }
  const q = (rs: PollingRun[]) => rs.map((r) => mean(r.queriesPerTask));
  const p = (rs: PollingRun[], pct: number) => rs.map((r) => percentile(r.lagMs, pct) / 1000);
  const ps = (rs: PollingRun[], pct: number) =>
    rs.map((r) => percentile(r.succeededLagMs ?? [], pct) / 1000);
  const baseline = 'fixed poller at the same queries per task';
  const figures: Figure[] = [
    {
      name: 'Upstream queries per task (mean)',
      unit: '',
      samples: q(voxline),
      decimals: 2,
      baseline: { name: `${baseline} (its interval tuned to match)`, samples: q(fixed) },
      ratio: { label: '× the baseline' },
    },
    {
      name: 'Lag p50: task finished upstream → its result recorded (`result_received`)',
      unit: 's',
      samples: p(voxline, 50),
      decimals: 2,
      baseline: { name: `${baseline} (→ answer read)`, samples: p(fixed, 50) },
      ratio: { label: '× the baseline' },
    },
    {
      name: 'Lag p95 (→ result recorded)',
      unit: 's',
      samples: p(voxline, 95),
      decimals: 2,
      baseline: { name: `${baseline} (→ answer read)`, samples: p(fixed, 95) },
      ratio: { label: '× the baseline' },
    },
    {
      name: 'Lag p95: task finished upstream → succeeded (the archive step included)',
      unit: 's',
      samples: ps(voxline, 95),
      decimals: 2,
    },
  ];
  const all = (rs: PollingRun[], f: (r: PollingRun) => number[]) => rs.flatMap(f);
  const distribution = (rs: PollingRun[]) => {
    const counts = new Map<number, number>();
    const qs = all(rs, (r) => r.queriesPerTask);
    for (const n of qs) counts.set(n, (counts.get(n) ?? 0) + 1);
    return [...counts]
      .sort((a, b) => a[0] - b[0])
      .map(([n, c]) => `${n}: ${fmt((100 * c) / qs.length, 0)} %`)
      .join(', ');
  };
  const intervals = fixed.map((r) => fmt(r.intervalMs ?? Number.NaN, 0)).join(' / ');
  return {
    headline: [
      `Polling without callbacks, per task: ${fmt(median(q(voxline)), 2)} queries, lag to the result p50 ${fmt(median(p(voxline, 50)), 2)} s, p95 ${fmt(median(p(voxline, 95)), 2)} s; a fixed poller at the same cost (every ${intervals} ms, ${fmt(median(q(fixed)), 2)} queries): p50 ${fmt(median(p(fixed, 50)), 2)} s, p95 ${fmt(median(p(fixed, 95)), 2)} s.`,
    ],
    id: 'polling',
    title: '4. Polling cost and lag, against a fixed poller at the same cost',
    method: `${lines} tasks per run, all submitted at once (${fmt(SLOTS, 0)} slots on both sides, so no task waits
for a slot), durations as in item 3 (${REALISTIC.baseMs} ms + ${REALISTIC.perCharMs} ms/char, sigma ${REALISTIC.sigma}); no callbacks.
voxline: one spawned worker with the default schedule (POLL_MIN_INTERVAL_MS 1 s,
POLL_MAX_INTERVAL_MS 30 s); a 60-line warm-up batch first, so the schedule has learned the task
durations as it would have in production; then the simulator's seed is reset and the measured
batch runs. Lag = the line's \`result_received\` event (the poll step recorded the answer; the
slot is free from then) − the simulator's \`finishesAt\`; a separate figure runs to
\`completed_at\`, after the archive step stored the file. Baseline: a loop in the bench process
using the same \`RunningHubClient\`, which submits each line and queries its task every I ms until
it is terminal, against a simulator with the same settings and seed (so the same task durations);
its lag ends when the answer is read. **I is tuned to voxline's cost**: from the durations
voxline's run met, the interval whose predicted queries per task (each task: ⌈duration ÷ I⌉)
come closest to voxline's count, the shortest such; run; if the counted queries miss voxline's by
more than ${QUERY_TOLERANCE}, re-tuned once for the offset and run again, keeping the closer run.
Queries per task are counted by the simulator.`,
    figures,
    notes: [
      `Tuning the fixed poller to voxline's cost, per run (every attempt shown):

${table(
  [
    'Run',
    'voxline: queries per task',
    'Fixed interval (ms)',
    'Predicted queries per task',
    'Counted queries per task',
    'Lag p50 (ms)',
    'Lag p95 (ms)',
    'Kept',
  ],
  tuning,
)}`,
      lagNote(voxline.flatMap((r) => (r.parts ? [r.parts] : []))),
      stageNote(
        "voxline's lag to `result_received` and then through the archive step (from each line's history):",
        [{ label: 'voxline', parts: voxline.flatMap((r) => (r.stages ? [r.stages] : [])) }],
      ),
      learnedNote(voxline),
      whyNote(voxline, fixed),
      `Distribution of queries per task over all runs:

${table(
  ['', 'Queries per task: share of tasks'],
  [
    ['voxline', distribution(voxline)],
    [baseline, distribution(fixed)],
  ],
)}`,
    ],
  };
}
