import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { waitFor } from '@voxline/testing/wait';
import { type BenchContext, inRun } from '../context.js';
import { PROBE, TMP_DIR } from '../paths.js';
import { type Figure, fmt, MB, type Section, table } from '../report.js';
import { batchProgress, benchTenant, loadBatch } from '../services/database.js';
import {
  CORES,
  CPU_HEADER,
  CpuMeter,
  type CpuSplit,
  cpuCells,
  runQueues,
} from '../services/e2e.js';
import { startResultFiles } from '../services/files.js';
import { childSnapshot, type PerUnit, perUnit } from '../services/probe-diff.js';
import { RssSampler } from '../services/processes.js';
import { startBenchSimulator } from '../services/simulator.js';
import { startWorkerProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';
import { max, median, sum } from '../util/stats.js';
import { sleep } from '../util/wait.js';

// Room on both sides and no latency: every submit answers SUCCESS at once, so the results
// pile up quickly and the archive step is what is measured.
const SLOTS = 1_000;
const ZERO = { baseMs: 0, perCharMs: 0, sigma: 0 };
// The worker's default WORKER_CONCURRENCY, which the archive queue's worker runs with too.
const CONCURRENCY = 50;
// The issue's goals for the store (issue 14).
const GOAL_FILES_PER_S = 200;
const GOAL_RSS_MB = 250;
// Files whose stored bytes are hashed again and compared with the row, per run.
const VERIFY_SAMPLE = 50;
const POOL_NOTE = '64 distinct files';

interface ArchiveRun {
  lines: number;
  /** Lines per second through the archive step alone (resume → last completed_at). */
  filesPerS: number;
  seconds: number;
  bytes: number;
  files: number;
  rssIdle: number;
  rssPeak: number;
  rssMedian: number;
  failed: number;
  verified: number;
  mismatches: number;
  /** The bench process copying the same links to a folder, CONCURRENCY at a time. */
  baselineFilesPerS: number;
  /** Where the machine's CPU went during the archive phase. */
  cpu: CpuSplit;
  /** The worker's Postgres and Redis round trips per stored file. */
  perFile: PerUnit;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** The audio files of a folder store: its `.tmp/` and `.meta/` sidecars are not counted. */
async function audioFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((path) => !path.startsWith('.'));
}

/** The baseline: fetch each link and stream it to a file, `CONCURRENCY` at a time. */
async function plainCopy(urls: string[], dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  let next = 0;
  const one = async () => {
    for (let i = next++; i < urls.length; i = next++) {
      const res = await fetch(urls[i] as string);
      if (!res.ok || !res.body) throw new Error(`baseline copy: HTTP ${res.status}`);
      await pipeline(
        Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
        createWriteStream(join(dir, `${i}.wav`)),
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, one));
  const seconds = (performance.now() - started) / 1000;
  await rm(dir, { recursive: true, force: true });
  return urls.length / seconds;
}

async function archiveRun(ctx: BenchContext, lines: number, seed: number): Promise<ArchiveRun> {
  return inRun(ctx, 'archive', async (scope) => {
    const files = await startResultFiles();
    scope.defer(() => files.close());
    const sim = await startBenchSimulator({
      maxInFlight: SLOTS,
      durations: ZERO,
      seed,
      publicUrl: files.url,
    });
    scope.defer(() => sim.close());
    await mkdir(`${TMP_DIR}/probes`, { recursive: true });
    const probeOut = `${TMP_DIR}/probes/${scope.prefix.replace(/[^a-z0-9-]/gi, '')}`;
    const worker = scope.own(
      await startWorkerProcess(scope.target, sim.url, {
        env: {
          RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS),
          WORKER_CONCURRENCY: String(CONCURRENCY),
          BENCH_PROBE_OUT: probeOut,
        },
        nodeArgs: ['--import', PROBE],
      }),
    );
    const queues = runQueues(ctx, scope);
    // Held back until every result is in: then the step runs alone, on a full queue.
    await queues.cloneArchive.pause();
    const tenant = await benchTenant(ctx.db);
    const texts = narrationLines(lines, { seed, tag: 'Store' });
    const loaded = await loadBatch(ctx.db, queues, tenant.id, texts);
    await waitFor(
      `${lines} results to be recorded`,
      async () => {
        if (worker.exit) throw new Error(`the worker exited (${JSON.stringify(worker.exit)})`);
        const { rows } = await ctx.db.pool.query<{ n: string }>(
          `select count(*) as n from audio_results r join clone_jobs j on j.id = r.clone_job_id
            where j.batch_id = $1`,
          [loaded.batchId],
        );
        return Number(rows[0]?.n) >= lines ? true : undefined;
      },
      { timeoutMs: 15 * 60_000, intervalMs: 250 },
    );
    const sampler = new RssSampler([{ name: 'worker', pid: worker.pid }], 200).start();
    scope.defer(() => sampler.stop());
    await sleep(2_000);
    const idle = sampler.take().get('worker') ?? [];

    const probeBefore = await childSnapshot(worker, probeOut, 1);
    const meter = await CpuMeter.start(ctx, [worker]);
    const started = Date.now();
    await queues.cloneArchive.resume();
    const progress = await waitFor(
      `${lines} lines to be stored`,
      async () => {
        if (worker.exit) throw new Error(`the worker exited (${JSON.stringify(worker.exit)})`);
        const p = await batchProgress(ctx.db, loaded.batchId);
        return p.succeeded + p.failed + p.canceled === lines ? p : undefined;
      },
      { timeoutMs: 15 * 60_000, intervalMs: 100 },
    );
    const cpu = await meter.stop();
    const perFile = perUnit(probeBefore, await childSnapshot(worker, probeOut, 2), lines);
    const during = sampler.take().get('worker') ?? [];
    sampler.stop();
    const { rows } = await ctx.db.pool.query<{ last: string; bytes: string; archived: string }>(
      `select (extract(epoch from max(j.completed_at)) * 1000)::bigint as last,
              coalesce(sum(r.bytes), 0) as bytes, count(r.archived_at) as archived
         from clone_jobs j join audio_results r on r.clone_job_id = j.id
        where j.batch_id = $1`,
      [loaded.batchId],
    );
    const seconds = (Number(rows[0]?.last) - started) / 1000;
    const stored = await audioFilesUnder(scope.target.audioDir);

    // A sample of stored files read back: the bytes on disk are the ones the row describes.
    const sample = await ctx.db.pool.query<{ key: string; sha256: string; bytes: string }>(
      `select r.storage_key as key, r.sha256, r.bytes from audio_results r
         join clone_jobs j on j.id = r.clone_job_id
        where j.batch_id = $1 and r.archived_at is not null
        order by r.clone_job_id limit $2`,
      [loaded.batchId, VERIFY_SAMPLE],
    );
    let mismatches = 0;
    for (const row of sample.rows) {
      const path = join(scope.target.audioDir, row.key);
      const ok =
        (await stat(path)).size === Number(row.bytes) && (await sha256File(path)) === row.sha256;
      if (!ok) mismatches++;
    }

    const urls = await ctx.db.pool.query<{ url: string }>(
      `select r.url from audio_results r join clone_jobs j on j.id = r.clone_job_id
        where j.batch_id = $1 order by r.clone_job_id`,
      [loaded.batchId],
    );
    ctx.log(`archive:   baseline: the bench copies the same ${urls.rows.length} links itself`);
    const baselineFilesPerS = await plainCopy(
      urls.rows.map((r) => r.url),
      join(scope.target.audioDir, '..', `${scope.prefix.replace(/[^a-z0-9-]/gi, '')}-plain`),
    );
    return {
      lines,
      filesPerS: lines / seconds,
      seconds,
      bytes: Number(rows[0]?.bytes),
      files: stored.length,
      rssIdle: median(idle),
      rssPeak: max(during),
      rssMedian: median(during),
      failed: progress.failed,
      verified: sample.rows.length,
      mismatches,
      baselineFilesPerS,
      cpu,
      perFile,
    };
  });
}

/** What CPU alone allows on this machine: its cores ÷ the CPU voxline's side spends per file. */
function capNote(results: ArchiveRun[], lines: number): string {
  const per = (f: (c: CpuSplit) => number) => median(results.map((r) => f(r.cpu) / lines));
  const worker = per((c) => c.workers);
  const total = worker + per((c) => c.postgres) + per((c) => c.redis);
  return `With ${CORES} cores, CPU alone caps the step near ${fmt(CORES / total, 0)} files/s on this machine (derived: cores ÷ the worker's, Postgres' and Redis' CPU per file, ${fmt(1000 * total, 1)} ms), and the worker's own ${fmt(1000 * worker, 1)} ms per file caps one worker process at ${fmt(1 / worker, 0)} files/s (one core, derived).`;
}

function roundTripsNote(results: ArchiveRun[]): string {
  const r = results[0]?.perFile;
  if (!r) return '';
  const two = (n: number) => fmt(n, 2);
  const sorted = (t: Record<string, number>) =>
    Object.entries(t)
      .sort((a, b) => b[1] - a[1])
      .filter(([, n]) => n >= 0.05)
      .map(([k, n]) => `${k} ${two(n)}`)
      .join(', ');
  return `**Round trips per stored file** (run 1; the worker runs with \`--import bench/dist/probe.js\`,
which counts every \`pg\` query and ioredis command, between two snapshots around the archive phase):

${table(
  ['', 'per file'],
  [
    ['Postgres queries', two(r.pgQueries)],
    ['… by kind', sorted(r.pgByKind)],
    ['Pool checkouts (transactions + single queries)', two(r.pgConnects)],
    ['Time waiting for a pool connection', `${two(r.pgConnectWaitMs)} ms`],
    ['Redis commands', two(r.redisCommands)],
    ['Redis round trips (a pipeline counts once)', two(r.redisRoundTrips)],
    ['Redis commands by name (≥ 0.05 per file)', sorted(r.redisByCommand)],
  ],
)}`;
}

export async function archiveSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const runs = quick ? 1 : 2;
  const lines = quick ? 1_000 : 10_000;
  const results: ArchiveRun[] = [];
  for (let run = 1; run <= runs; run++) {
    ctx.log(`archive: run ${run}/${runs}: ${lines} results into the folder store`);
    const r = await archiveRun(ctx, lines, 40 + run);
    ctx.log(
      `archive:   ${fmt(r.filesPerS, 0)} files/s (plain copy ${fmt(r.baselineFilesPerS, 0)}/s), worker RSS peak ${fmt(r.rssPeak / MB, 0)} MB`,
    );
    results.push(r);
  }
  const pass = (ok: boolean) => (ok ? 'met' : '**not met**');
  const rate = median(results.map((r) => r.filesPerS));
  const peak = max(results.map((r) => r.rssPeak)) / MB;
  const figures: Figure[] = [
    {
      name: `Results stored per second, ${fmt(lines, 0)} in the folder store (download, hash, metadata, store, success)`,
      unit: 'files/s',
      samples: results.map((r) => r.filesPerS),
      decimals: 0,
      derived: `${fmt(lines, 0)} ÷ the time from resuming the archive queue to the last completed_at`,
      baseline: {
        name: `the bench process copying the same links to a folder, ${CONCURRENCY} at a time`,
        samples: results.map((r) => r.baselineFilesPerS),
      },
      ratio: { label: '× the plain copy' },
    },
    {
      name: 'Worker RSS while storing: peak',
      unit: 'MB',
      samples: results.map((r) => r.rssPeak / MB),
      decimals: 0,
      baseline: {
        name: 'the same worker idle, every result recorded, before the step ran',
        samples: results.map((r) => r.rssIdle / MB),
      },
      ratio: { label: '× idle' },
    },
  ];
  return {
    id: 'archive',
    title: '9. Storing results: 10,000 files into the folder store',
    headline: [
      `Results stored into the folder store: ${fmt(rate, 0)} files/s (${fmt(lines, 0)} files; a plain copy of the same links ${fmt(median(results.map((r) => r.baselineFilesPerS)), 0)}/s), worker RSS peak ${fmt(peak, 0)} MB.`,
    ],
    method: `A spawned worker (WORKER_CONCURRENCY ${CONCURRENCY}, AUDIO_STORE = a folder of the run's own
under bench/.tmp/audio/) against the simulator at zero latency with ${fmt(SLOTS, 0)} slots: every submit
answers SUCCESS at once with a link to a tone WAV as long as its text (40–200 characters,
60 ms a character, 16 kHz mono: 77–384 KB). The links point at a file server in the bench
process that serves a pool of ${POOL_NOTE} of the simulator's own WAVs from memory: the simulator
renders a file on every download, which would cap the copy at its own rendering rate, for the
plain copy as much as for voxline. The \`clone-archive\` queue is paused while ${fmt(lines, 0)} lines are loaded
(as in item 2) until every line's result is recorded (its \`audio_results\` row, the line
\`running\`); then it is resumed and timed to the last \`completed_at\`: each line's file
downloaded, hashed, described (format, duration, rate, channels), stored, and the line
succeeded. Worker RSS (VmRSS) sampled every 200 ms throughout; the worker counts its round
trips (the bench's probe, preloaded: a counter per query and command). Baseline: the bench process
itself fetching the same ${fmt(lines, 0)} links and writing them to a folder, ${CONCURRENCY} at a
time, nothing else. ${results.length} run${results.length === 1 ? '' : 's'}.`,
    figures,
    notes: [
      `**Goals** (issue 14): at least ${GOAL_FILES_PER_S} files/s: ${fmt(rate, 0)}, ${pass(rate >= GOAL_FILES_PER_S)}. Worker RSS at most ${GOAL_RSS_MB} MB: peak ${fmt(peak, 0)} MB over all runs, ${pass(peak <= GOAL_RSS_MB)}.`,
      `Per run:

${table(
  [
    'Run',
    'Archive phase (s)',
    'Stored (files on disk / lines)',
    'Bytes stored (MB)',
    'Failed lines',
    'Files read back and verified (SHA-256, size)',
    'Worker RSS idle / median / peak (MB)',
  ],
  results.map((r, i) => [
    i + 1,
    fmt(r.seconds, 1),
    `${fmt(r.files, 0)} / ${fmt(r.lines, 0)}`,
    fmt(r.bytes / MB, 0),
    r.failed,
    `${r.verified - r.mismatches} of ${r.verified} match`,
    `${fmt(r.rssIdle / MB, 0)} / ${fmt(r.rssMedian / MB, 0)} / ${fmt(r.rssPeak / MB, 0)}`,
  ]),
)}

Bytes stored over all runs: ${fmt(sum(results.map((r) => r.bytes)) / MB, 0)} MB (deleted with each run's folder).`,
      roundTripsNote(results),
      `Where the machine's CPU went during the archive phase (CPU-seconds per 1,000 files, median of the runs; the bench process serves the files):

${table(CPU_HEADER, [
  cpuCells(
    results.map((r) => r.cpu),
    lines,
  ),
])}

${capNote(results, lines)}`,
    ],
  };
}
