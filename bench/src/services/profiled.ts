import { mkdirSync, rmSync } from 'node:fs';
import type { Durations } from '@voxline/runninghub-sim';
import { type BenchContext, inRun } from '../context.js';
import { PROBE, TMP_DIR } from '../paths.js';
import { fmt, table } from '../report.js';
import { type ProfileSummary, summariseProfile } from '../util/cpuprofile.js';
import { narrationLines } from '../util/lines.js';
import { benchTenant } from './database.js';
import { runBatch, runQueues } from './e2e.js';
import { childSnapshot, newestProfile, type PerUnit, perUnit } from './probe-diff.js';
import { startBenchSimulator } from './simulator.js';
import { startWorkerProcess } from './stack.js';

export interface ProfiledRun {
  lines: number;
  throughput: number;
  perClone: PerUnit;
  profile: ProfileSummary | null;
}

/**
 * One extra, untimed run with the worker under `node --cpu-prof` and the round-trip probe
 * (bench/dist/probe.js, preloaded): counts per clone between two snapshots taken around the
 * batch, and the CPU profile written when the worker exits.
 */
export async function profiledWorkerRun(
  ctx: BenchContext,
  options: { label: string; lines: number; slots: number; durations: Durations; seed: number },
): Promise<ProfiledRun> {
  const dir = `${TMP_DIR}/profiles/${options.label}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = `${dir}/probe`;
  const texts = narrationLines(options.lines, { seed: options.seed });
  const measured = await inRun(ctx, options.label, async (scope) => {
    const sim = await startBenchSimulator({
      maxInFlight: options.slots,
      durations: options.durations,
    });
    scope.defer(() => sim.close());
    const worker = await startWorkerProcess(scope.target, sim.url, {
      name: `${options.label}-worker`,
      env: { RUNNINGHUB_MAX_IN_FLIGHT: String(options.slots), BENCH_PROBE_OUT: out },
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--import', PROBE],
    });
    scope.own(worker);
    const tenant = await benchTenant(ctx.db);
    const before = await childSnapshot(worker, out, 1);
    const result = await runBatch(ctx, runQueues(ctx, scope), {
      tenantId: tenant.id,
      texts,
      workers: [worker],
    });
    const after = await childSnapshot(worker, out, 2);
    // The profile is written when the process exits.
    await worker.stop();
    return { throughput: result.throughput, perClone: perUnit(before, after, options.lines) };
  });
  const path = newestProfile(dir);
  return {
    lines: options.lines,
    ...measured,
    profile: path ? summariseProfile(path) : null,
  };
}

const r2 = (n: number) => fmt(n, n >= 10 ? 1 : 2);

/** Markdown: the per-clone round trips of a profiled run (and a baseline's), and its profile. */
export function roundTripNotes(
  run: ProfiledRun,
  baseline: PerUnit | null,
  baselineLabel = '',
): string[] {
  const c = run.perClone;
  const b = baseline;
  const kinds = Object.entries(c.pgByKind).sort((x, y) => y[1] - x[1]);
  const byName = (u: PerUnit) =>
    Object.entries(u.redisByCommand)
      .sort((x, y) => y[1] - x[1])
      .filter(([, n]) => n >= 0.05)
      .map(([k, n]) => `${k} ${r2(n)}`)
      .join(', ');
  const row = (label: string, mine: string, theirs: string) =>
    b ? [label, mine, theirs] : [label, mine];
  const notes = [
    `**Round trips per clone** (profiling run: ${fmt(run.lines, 0)} clones, worker under
\`--import bench/dist/probe.js\`, which counts every \`pg\` query and every ioredis command in the
worker process; ${r2(run.throughput)} clones/s with the probe and the profiler on):

${table(b ? ['', 'voxline worker, per clone', baselineLabel] : ['', 'voxline worker, per clone'], [
  row('Postgres queries', r2(c.pgQueries), '0'),
  row('… of which', kinds.map(([k, n]) => `${k} ${r2(n)}`).join(', '), ''),
  row('Pool checkouts (transactions + single queries)', r2(c.pgConnects), '0'),
  row('Time waiting for a pool connection', `${r2(c.pgConnectWaitMs)} ms`, '0'),
  row('Redis commands', r2(c.redisCommands), b ? r2(b.redisCommands) : ''),
  row(
    'Redis round trips (a pipeline counts once)',
    r2(c.redisRoundTrips),
    b ? r2(b.redisRoundTrips) : '',
  ),
  row('Redis commands by name (≥ 0.05 per clone)', byName(c), b ? byName(b) : ''),
])}`,
  ];
  if (run.profile) {
    const prof = run.profile;
    const busy = prof.totalMs - prof.idleMs;
    notes.push(`**CPU profile of the worker** (\`node --cpu-prof\`, same run): ${fmt(busy / 1000, 1)} s on
CPU out of ${fmt(prof.totalMs / 1000, 1)} s sampled (${fmt((100 * busy) / prof.totalMs, 0)} % of one core). Self time by package:

${table(
  ['Package', 'Self time', 'Share of CPU'],
  prof.byCategory
    .slice(0, 12)
    .map((x) => [x.category, `${fmt(x.ms / 1000, 2)} s`, `${fmt(100 * x.share, 1)} %`]),
)}

Hottest functions (self time):

${table(
  ['Function', 'Where', 'Share'],
  prof.topFunctions
    .slice(0, 12)
    .map((f) => [`\`${f.fn}\``, f.where || f.category, `${fmt(100 * f.share, 1)} %`]),
)}`);
  }
  return notes;
}
