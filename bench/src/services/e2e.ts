import { cpus } from 'node:os';
import { closeQueues, createQueues, createRedis, type Queues } from '@voxline/queue';
import type { NodeProcess } from '@voxline/testing/process';
import { waitFor } from '@voxline/testing/wait';
import type { BenchContext, RunScope } from '../context.js';
import { fmt } from '../report.js';
import { median } from '../util/stats.js';
import { batchProgress, loadBatch } from './database.js';
import { cpuSecondsOf, machineCpu } from './processes.js';
import { redisCpuSeconds } from './redis.js';

/** Producer-side queues for a run, closed with it. */
export function runQueues(ctx: BenchContext, scope: RunScope): Queues {
  const connection = createRedis(ctx.redisUrl, 'producer');
  const queues = createQueues(connection, scope.prefix);
  scope.defer(async () => {
    await closeQueues(queues);
    connection.disconnect();
  });
  return queues;
}

/** Where the machine's CPU went during a run, in CPU-seconds. */
export interface CpuSplit {
  wallS: number;
  /** Busy share of all cores, 0-1. */
  machineBusy: number;
  workers: number;
  redis: number;
  /** The bench process: the in-process simulator, plus its own progress queries. */
  bench: number;
  /** The Postgres backends serving the bench database. */
  postgres: number;
  /** Busy time not in the above: Postgres background processes, the kernel, and whatever
   * else runs on the machine (other users' processes). */
  other: number;
}

/** CPU seconds of each Postgres backend connected to the bench database, by pid. */
async function postgresBackends(ctx: BenchContext): Promise<Map<number, number>> {
  const { rows } = await ctx.db.pool.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database()',
  );
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const cpu = cpuSecondsOf(pid);
    if (cpu !== null) out.set(pid, cpu);
  }
  return out;
}

export class CpuMeter {
  readonly #machine = machineCpu();
  readonly #workers: number[];
  readonly #bench = process.cpuUsage();
  readonly #started = Date.now();

  private constructor(
    private readonly ctx: BenchContext,
    private readonly workers: NodeProcess[],
    private readonly redis0: number,
    private readonly postgres0: Map<number, number>,
  ) {
    this.#workers = workers.map((w) => cpuSecondsOf(w.pid) ?? 0);
  }

  static async start(ctx: BenchContext, workers: NodeProcess[]): Promise<CpuMeter> {
    return new CpuMeter(
      ctx,
      workers,
      await redisCpuSeconds(ctx.redis),
      await postgresBackends(ctx),
    );
  }

  async stop(): Promise<CpuSplit> {
    const machine = machineCpu();
    const wallS = (Date.now() - this.#started) / 1000;
    const busy = machine.busy - this.#machine.busy;
    const total = machine.total - this.#machine.total;
    const workers = this.workers.reduce(
      (sum, w, i) => sum + ((cpuSecondsOf(w.pid) ?? 0) - (this.#workers[i] ?? 0)),
      0,
    );
    const redis = (await redisCpuSeconds(this.ctx.redis)) - this.redis0;
    const b = process.cpuUsage(this.#bench);
    const bench = (b.user + b.system) / 1e6;
    // Backends that came and went during the run are missed: pools keep theirs while busy.
    let postgres = 0;
    for (const [pid, cpu] of await postgresBackends(this.ctx)) {
      postgres += cpu - (this.postgres0.get(pid) ?? 0);
    }
    return {
      wallS,
      machineBusy: total > 0 ? busy / total : Number.NaN,
      workers,
      redis,
      bench,
      postgres,
      other: Math.max(0, busy - workers - redis - bench - postgres),
    };
  }
}

export interface E2eResult {
  batchId: string;
  lines: number;
  /** When the first submit job could be taken (rows committed, queueing starts), epoch ms. */
  startedAt: number;
  /** The last line's completed_at, epoch ms. */
  finishedAt: number;
  /** Lines per second from startedAt to finishedAt. */
  throughput: number;
  failed: number;
  cpu: CpuSplit;
}

/**
 * Loads a batch as the API would and waits for every line to be terminal; the clock runs from
 * the moment queueing starts to the last `completed_at` Postgres recorded.
 */
export async function runBatch(
  ctx: BenchContext,
  queues: Queues,
  options: { tenantId: string; texts: string[]; workers: NodeProcess[]; timeoutMs?: number },
): Promise<E2eResult> {
  const meter = await CpuMeter.start(ctx, options.workers);
  const loaded = await loadBatch(ctx.db, queues, options.tenantId, options.texts);
  const total = options.texts.length;
  const progress = await waitFor(
    `${total} lines to finish`,
    async () => {
      for (const w of options.workers) {
        if (w.exit) throw new Error(`${w.name} exited (${JSON.stringify(w.exit)})`);
      }
      const p = await batchProgress(ctx.db, loaded.batchId);
      return p.succeeded + p.failed + p.canceled === total ? p : undefined;
    },
    { timeoutMs: options.timeoutMs ?? 15 * 60_000, intervalMs: 200 },
  );
  const cpu = await meter.stop();
  const { rows } = await ctx.db.pool.query<{ last: string }>(
    `select (extract(epoch from max(completed_at)) * 1000)::bigint as last
       from clone_jobs where batch_id = $1`,
    [loaded.batchId],
  );
  const finishedAt = Number(rows[0]?.last);
  return {
    batchId: loaded.batchId,
    lines: total,
    startedAt: loaded.committedAt,
    finishedAt,
    throughput: total / ((finishedAt - loaded.committedAt) / 1000),
    failed: progress.failed,
    cpu,
  };
}

export const CORES = cpus().length;

/** Median CPU-seconds per 1,000 clones by process group, as table cells. */
export function cpuCells(splits: CpuSplit[], lines: number): string[] {
  const per1k = (f: (c: CpuSplit) => number) =>
    fmt(median(splits.map((c) => (1000 * f(c)) / lines)), 2);
  return [
    `${fmt(100 * median(splits.map((c) => c.machineBusy)), 0)} %`,
    per1k((c) => c.workers),
    per1k((c) => c.postgres),
    per1k((c) => c.redis),
    per1k((c) => c.bench),
    per1k((c) => c.other),
  ];
}

export const CPU_HEADER = [
  'Machine busy',
  'Worker process(es)',
  'Postgres backends',
  'Redis server',
  'Bench process (simulator)',
  'Other (PG background, kernel, other users)',
];
