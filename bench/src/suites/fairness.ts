import { measureFairDecision } from '@voxline/queue';
import { waitFor } from '@voxline/testing/wait';
import { type BenchContext, inRun } from '../context.js';
import { type Figure, fmt, type Section, table } from '../report.js';
import { newPrefix } from '../services/redis.js';
import { type SimTaskView, startBenchSimulator } from '../services/simulator.js';
import { startApiProcess, startWorkerProcess } from '../services/stack.js';
import {
  type Accepted,
  assertNoFailures,
  type BenchTenant,
  createTenants,
  jainIndex,
  type LineRow,
  lineRows,
  linesLeft,
  postBatch,
  postSingles,
  slotSeconds,
  taskEnd,
} from '../services/tenant-load.js';
import { narrationLines } from '../util/lines.js';
import { mean, median } from '../util/stats.js';

// One shared account of 3 slots, as in the issue's report.
const SLOTS = 3;
// Short tasks (about 0.45 s for 40-120 characters) so that a backlog of hundreds drains in a
// minute; what is measured is shares and waits in task durations, not absolute speed.
const DURATIONS = { baseMs: 300, perCharMs: 2, sigma: 0.25 };
const CHARS = { minChars: 40, maxChars: 120 };
// Shorter still behind the flood (about 0.18 s), so that the baseline, whose small tenant waits
// for the whole flood, ends in a minute or two.
const FLOOD_DURATIONS = { baseMs: 100, perCharMs: 1, sigma: 0.25 };
// Tenants' lines get into the fair lists only as the worker takes their jobs from BullMQ; the
// first seconds after the first submit are left out of the window so that all four are in.
const WARM_UP_MS = 3_000;
// High enough that the requests-per-minute limit never answers 429 to the bench's own posting.
const NO_RATE_LIMIT = '1000000';
const POST_CONCURRENCY = 16;
const GOAL_JAIN = 0.98;
const DECISION_TENANTS = [10, 100, 1_000];

function apiEnv(fair: boolean): Record<string, string> {
  return { TENANT_REQUESTS_PER_MINUTE: NO_RATE_LIMIT, FAIR_SHARES: String(fair) };
}

function workerEnv(fair: boolean): Record<string, string> {
  return { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS), FAIR_SHARES: String(fair) };
}

/** What each of the four tenants posts: batches (lines each) and single lines. */
interface LoadPlan {
  name: string;
  batches: number[];
  singles: number;
}

function fairnessPlans(scale: number): LoadPlan[] {
  return [
    { name: 'one batch', batches: [4 * scale], singles: 0 },
    { name: 'single lines', batches: [], singles: 4 * scale },
    { name: 'batch + singles', batches: [3 * scale], singles: scale },
    { name: 'two batches + singles', batches: [scale, 2 * scale], singles: scale },
  ];
}

interface FairnessRun {
  shares: Array<{ plan: LoadPlan; lines: number; slotSeconds: number; share: number }>;
  jain: number;
  windowS: number;
  meanTaskS: number;
}

async function waitForAll(ctx: BenchContext, label: string, timeoutMs: number): Promise<void> {
  await waitFor(label, async () => (await linesLeft(ctx.db)) === 0, {
    timeoutMs,
    intervalMs: 250,
  });
}

function tasksByTenant(rows: LineRow[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const row of rows) if (row.taskId) out.set(row.taskId, row.tenantId);
  return out;
}

/**
 * Four tenants of equal weight post their whole load, then one worker starts and drains it.
 * The window runs from the first submit (plus the warm-up) to the moment the first tenant's
 * last line was submitted: until then every tenant had lines waiting.
 */
async function fairnessRun(ctx: BenchContext, scale: number): Promise<FairnessRun> {
  return inRun(ctx, 'fairness-jain', async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: DURATIONS, seed: 5 });
    scope.defer(() => sim.close());
    const api = await startApiProcess(scope.target, apiEnv(true));
    scope.own(api.child);
    const plans = fairnessPlans(scale);
    const tenants = await createTenants(
      ctx.db,
      api.url,
      plans.map((p) => p.name),
    );
    // Seeds by tenant and post, not by the order in which concurrent posts happen to run.
    await Promise.all(
      plans.map(async (plan, i) => {
        const tenant = tenants[i] as BenchTenant;
        const tag = `T${i + 1}`;
        for (const [j, lines] of plan.batches.entries()) {
          await postBatch(tenant, narrationLines(lines, { ...CHARS, seed: 100 + 10 * i + j, tag }));
        }
        const singles = narrationLines(plan.singles, {
          ...CHARS,
          seed: 109 + 10 * i,
          tag: `${tag}s`,
        });
        await postSingles(tenant, singles, POST_CONCURRENCY / 4);
      }),
    );
    scope.own(await startWorkerProcess(scope.target, sim.url, { env: workerEnv(true) }));
    await waitForAll(ctx, 'the four tenants’ lines to finish', 10 * 60_000);
    await assertNoFailures(ctx.db);

    const rows = await lineRows(ctx.db);
    const ofTask = tasksByTenant(rows);
    const tasks = sim.handle.tasks().filter((t) => ofTask.has(t.taskId));
    const from = Math.min(...tasks.map((t) => t.createdAt)) + WARM_UP_MS;
    const to = Math.min(
      ...tenants.map((tenant) =>
        Math.max(
          ...tasks.filter((t) => ofTask.get(t.taskId) === tenant.id).map((t) => t.createdAt),
        ),
      ),
    );
    if (to <= from) {
      const start = from - WARM_UP_MS;
      const spans = tenants.map((tenant) => {
        const times = tasks
          .filter((t) => ofTask.get(t.taskId) === tenant.id)
          .map((t) => t.createdAt);
        return `${tenant.name}: ${times.length} tasks, submits ${Math.min(...times) - start}-${Math.max(...times) - start} ms`;
      });
      throw new Error(`a tenant ran out of lines before the warm-up ended (${spans.join('; ')})`);
    }
    const used = slotSeconds(tasks, ofTask, from, to);
    const total = [...used.values()].reduce((s, x) => s + x, 0);
    const shares = plans.map((plan, i) => {
      const id = (tenants[i] as BenchTenant).id;
      const seconds = used.get(id) ?? 0;
      return {
        plan,
        lines: rows.filter((r) => r.tenantId === id).length,
        slotSeconds: seconds,
        share: total > 0 ? seconds / total : Number.NaN,
      };
    });
    return {
      shares,
      jain: jainIndex(shares.map((s) => s.slotSeconds)),
      windowS: (to - from) / 1000,
      meanTaskS: mean(tasks.map((t) => (taskEnd(t) - t.createdAt) / 1000)),
    };
  });
}

interface FloodRun {
  fair: boolean;
  /** Per small-tenant line: accept (its 202) → upstream submit, and → succeeded, seconds. */
  toSubmitS: number[];
  toDoneS: number[];
  meanTaskS: number;
}

/**
 * One tenant posts `flood` single lines; once they are all accepted another posts `small`
 * single lines. Single lines are used on both sides because the scheduler of old ranks by
 * priority first: a flood of batch lines would never hold back another tenant's single lines.
 */
async function floodRun(
  ctx: BenchContext,
  fair: boolean,
  flood: number,
  small: number,
): Promise<FloodRun> {
  return inRun(ctx, `fairness-flood-${fair ? 'on' : 'off'}`, async (scope) => {
    const sim = await startBenchSimulator({
      maxInFlight: SLOTS,
      durations: FLOOD_DURATIONS,
      seed: 7,
    });
    scope.defer(() => sim.close());
    const api = await startApiProcess(scope.target, apiEnv(fair));
    scope.own(api.child);
    scope.own(await startWorkerProcess(scope.target, sim.url, { env: workerEnv(fair) }));
    const [big, little] = await createTenants(ctx.db, api.url, ['flood', 'small']);
    if (!big || !little) throw new Error('tenants were not created');
    await postSingles(
      big,
      narrationLines(flood, { ...CHARS, seed: 21, tag: 'F' }),
      POST_CONCURRENCY,
    );
    const accepted: Accepted[] = await postSingles(
      little,
      narrationLines(small, { ...CHARS, seed: 22, tag: 'S' }),
      small,
    );
    const ids = new Set(accepted.map((a) => a.id));
    // Only the small tenant's lines are waited for: the flood's remainder is not measured.
    const rows = await waitFor(
      'the small tenant’s lines to finish',
      async () => {
        const all = (await lineRows(ctx.db)).filter((r) => ids.has(r.id));
        return all.every((r) => r.completedAt !== null) ? all : undefined;
      },
      { timeoutMs: 15 * 60_000, intervalMs: 250 },
    );
    await assertNoFailures(ctx.db);
    const tasks = new Map(sim.handle.tasks().map((t) => [t.taskId, t] as const));
    const toSubmitS: number[] = [];
    const toDoneS: number[] = [];
    for (const a of accepted) {
      const row = rows.find((r) => r.id === a.id) as LineRow;
      const task = row.taskId ? tasks.get(row.taskId) : undefined;
      if (task) toSubmitS.push((task.createdAt - a.acceptedAt) / 1000);
      if (row.completedAt !== null) toDoneS.push((row.completedAt - a.acceptedAt) / 1000);
    }
    const finished = [...tasks.values()].filter((t) => t.finishedAt !== null);
    return {
      fair,
      toSubmitS,
      toDoneS,
      meanTaskS: mean(finished.map((t: SimTaskView) => (taskEnd(t) - t.createdAt) / 1000)),
    };
  });
}

const s = (x: number) => `${fmt(x, 2)} s`;
const pct = (x: number) => `${fmt(100 * x, 1)} %`;

export async function fairnessSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const scale = quick ? 10 : 25;
  const flood = quick ? 300 : 1_000;
  const small = 10;
  const decisions = quick ? 500 : 2_000;
  const decisionRuns = quick ? 1 : 3;

  ctx.log(`fairness: 4 tenants, ${16 * scale} lines, ${SLOTS} slots, equal weights`);
  const jain = await fairnessRun(ctx, scale);
  ctx.log(`fairness:   Jain's index ${fmt(jain.jain, 4)} over ${fmt(jain.windowS, 1)} s`);

  const floods: FloodRun[] = [];
  for (const fair of [true, false]) {
    ctx.log(`fairness: ${small} lines behind a ${flood}-line flood, FAIR_SHARES=${fair}`);
    const run = await floodRun(ctx, fair, flood, small);
    ctx.log(`fairness:   first submit after ${s(Math.min(...run.toSubmitS))}`);
    floods.push(run);
  }
  const [on, off] = floods as [FloodRun, FloodRun];

  const costs = new Map<number, { p50: number[]; mean: number[]; p99: number[] }>();
  for (let run = 0; run < decisionRuns; run++) {
    for (const tenants of DECISION_TENANTS) {
      const prefix = newPrefix('fairness-decision');
      const cost = await measureFairDecision(ctx.redis, prefix, { tenants, decisions });
      const entry = costs.get(tenants) ?? { p50: [], mean: [], p99: [] };
      entry.p50.push(cost.p50Micros);
      entry.mean.push(cost.meanMicros);
      entry.p99.push(cost.p99Micros);
      costs.set(tenants, entry);
    }
  }
  const ten = costs.get(DECISION_TENANTS[0] as number);

  const first = (r: FloodRun) => Math.min(...r.toSubmitS);
  const figures: Figure[] = [
    {
      name: `Jain's fairness index of slot-seconds, 4 tenants backlogged, equal weights (goal ≥ ${GOAL_JAIN})`,
      unit: '',
      decimals: 4,
      samples: [jain.jain],
    },
    {
      name: `Small tenant's first line behind a ${fmt(flood, 0)}-line flood: accept → upstream submit (FAIR_SHARES=true)`,
      unit: 's',
      decimals: 2,
      samples: [first(on)],
      baseline: { name: 'FAIR_SHARES=false (priority, then arrival)', samples: [first(off)] },
    },
    {
      name: `… its ${small} lines, median accept → upstream submit`,
      unit: 's',
      decimals: 2,
      samples: [median(on.toSubmitS)],
      baseline: { name: 'FAIR_SHARES=false', samples: [median(off.toSubmitS)] },
    },
    {
      name: `… its ${small} lines, last accept → succeeded`,
      unit: 's',
      decimals: 2,
      samples: [Math.max(...on.toDoneS)],
      baseline: { name: 'FAIR_SHARES=false', samples: [Math.max(...off.toDoneS)] },
    },
    ...DECISION_TENANTS.map((tenants) => {
      const c = costs.get(tenants);
      return {
        name: `One scheduling decision (release + pick + lease, one script), ${fmt(tenants, 0)} tenants backlogged, p50`,
        unit: 'µs',
        decimals: 0,
        samples: c?.p50 ?? [],
        ...(tenants !== DECISION_TENANTS[0] && ten
          ? { baseline: { name: '10 tenants', samples: ten.p50 } }
          : {}),
      } satisfies Figure;
    }),
  ];

  const method = `
Three measurements of the fair scheduler of upstream slots (FairSlots, issue 15), on one shared
account of ${SLOTS} slots (simulator and \`RUNNINGHUB_MAX_IN_FLIGHT\`), one worker process, one
API process with \`TENANT_REQUESTS_PER_MINUTE\` = ${NO_RATE_LIMIT} so the rate limit never
interferes. Lines are speech lines on a system voice (one upstream task each), ${CHARS.minChars}-${CHARS.maxChars}
characters; the simulator draws task durations of ${DURATIONS.baseMs} ms + ${DURATIONS.perCharMs} ms per
character × a log-normal factor (σ ${DURATIONS.sigma}); behind the flood ${FLOOD_DURATIONS.baseMs} ms + ${FLOOD_DURATIONS.perCharMs} ms per
character (σ ${FLOOD_DURATIONS.sigma}), so that the baseline, which waits out the whole flood, ends in a minute or two.

1. **Fair shares.** Four tenants of weight 1 post their load over HTTP (batches and
   \`POST /v1/clones\` single lines, ${16 * scale} lines in all) before the worker starts. Slot-seconds per tenant
   come from the simulator's task list (submit → end of each task), mapped to tenants through
   \`clone_jobs.upstream_task_id\`, clipped to the window in which every tenant still had lines
   waiting: from the first submit + ${WARM_UP_MS / 1000} s (the worker takes the lines from
   BullMQ into the fair lists meanwhile) to the first tenant's last submit. Index =
   (Σx)² / (n·Σx²). One run.
2. **Behind a flood.** Tenant A posts ${fmt(flood, 0)} single lines (${POST_CONCURRENCY} requests at a time); once all
   are accepted, tenant B posts ${small}. B's wait runs from each 202 to the task's submit upstream
   (the simulator's clock, which is the bench's) and to the line's \`completed_at\`. The same
   run with \`FAIR_SHARES=false\` (the scheduler of old: priority, then arrival) is the baseline,
   same seed. Both sides post single lines, since the old order puts any single line before any
   batch line. One run each; only B's lines are waited for.
3. **Cost of a decision.** \`measureFairDecision\` (packages/queue): ${fmt(decisions, 0)} timed releases,
   each one Lua script that frees a slot, picks the tenant furthest behind and leases the slot to
   its next line, with 10, 100 and 1,000 tenants backlogged (mixed weights and costs), measured
   from the bench process as a client round trip to Redis. ${decisionRuns} run(s) per size.
`;

  const notes = [
    `**Shares of slot-seconds** (window ${fmt(jain.windowS, 1)} s, mean task ${s(jain.meanTaskS)}):\n\n${table(
      ['Tenant', 'Load', 'Lines', 'Slot-seconds in window', 'Share'],
      jain.shares.map((x, i) => [
        `T${i + 1}`,
        `${x.plan.name}: ${[...x.plan.batches.map((b) => `batch of ${b}`), x.plan.singles ? `${x.plan.singles} singles` : ''].filter(Boolean).join(', ')}`,
        x.lines,
        fmt(x.slotSeconds, 1),
        pct(x.share),
      ]),
    )}`,
    `**Small tenant behind the flood**, per line, seconds (mean task: ${s(on.meanTaskS)} with the scheduler, ${s(off.meanTaskS)} without):\n\n${table(
      ['', 'first submit', 'submit p50', 'submit max', 'succeeded p50', 'succeeded max'],
      [on, off].map((r) => [
        `FAIR_SHARES=${r.fair}`,
        fmt(Math.min(...r.toSubmitS), 2),
        fmt(median(r.toSubmitS), 2),
        fmt(Math.max(...r.toSubmitS), 2),
        fmt(median(r.toDoneS), 2),
        fmt(Math.max(...r.toDoneS), 2),
      ]),
    )}`,
    `**One scheduling decision**, client round trip in µs (median over ${decisionRuns} run(s) of each statistic):\n\n${table(
      ['Tenants backlogged', 'p50', 'mean', 'p99'],
      DECISION_TENANTS.map((tenants) => {
        const c = costs.get(tenants);
        return [
          fmt(tenants, 0),
          fmt(median(c?.p50 ?? []), 0),
          fmt(median(c?.mean ?? []), 0),
          fmt(median(c?.p99 ?? []), 0),
        ];
      }),
    )}`,
  ];

  const c1000 = costs.get(1_000);
  return {
    id: 'fairness',
    title: '11. Fair shares between tenants (`fairness`)',
    method,
    figures,
    notes,
    headline: [
      `Fair shares: Jain's index ${fmt(jain.jain, 4)} over 4 backlogged tenants (goal ≥ ${GOAL_JAIN}); a small tenant's first line behind a ${fmt(flood, 0)}-line flood was submitted after ${s(first(on))} (FAIR_SHARES=false: ${s(first(off))}); one decision with 1,000 tenants ${fmt(median(c1000?.p50 ?? []), 0)} µs p50, p99 ${fmt(median(c1000?.p99 ?? []), 0)} µs (10 tenants: ${fmt(median(ten?.p50 ?? []), 0)} µs).`,
    ],
  };
}
