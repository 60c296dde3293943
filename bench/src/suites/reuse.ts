import { performance } from 'node:perf_hooks';
import { waitFor } from '@voxline/testing/wait';
import { type BenchContext, inRun } from '../context.js';
import { type Figure, fmt, type Section, table } from '../report.js';
import { type BatchView, BenchApi, type VoiceView } from '../services/api.js';
import { AUDIO_HOST, batchProgress, benchTenant } from '../services/database.js';
import { type BenchSimulator, startBenchSimulator } from '../services/simulator.js';
import { startApiProcess, startWorkerProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';
import { median } from '../util/stats.js';

// As item 7: room on both sides, no latency; the first batch is the pipeline at full speed.
const SLOTS = 200;
const ZERO = { baseMs: 0, perCharMs: 0, sigma: 0 };
const MODEL = 'speech-02-hd';
const AUDIO = `https://${AUDIO_HOST}/voices/narrator.wav`;
// The goals for reuse (issue 14).
const GOAL_SECONDS = 5;
const GOAL_SUBMITS = 0;

/** What the batch resource says of reuse (issue 14): lines reused and money not spent. */
interface ReuseCost {
  estimated: number;
  actual: number | null;
  reused?: number;
  saved?: number;
}

interface Timed {
  batchId: string;
  /** From sending POST /v1/batches to the batch `completed` (its completed_at). */
  seconds: number;
  /** Until the 202. */
  acceptSeconds: number;
  /** Upstream submits the simulator accepted meanwhile (speech and voice-clone). */
  submits: number;
  succeeded: number;
  reusedLines: number;
  cost: ReuseCost;
}

interface ReuseRun {
  lines: number;
  first: Timed;
  repeats: Timed[];
}

const submitsOf = (sim: BenchSimulator) => sim.handle.stats().submits;

/** POSTs the batch and waits for it to be completed, counting upstream submits meanwhile. */
async function timedBatch(
  ctx: BenchContext,
  client: BenchApi,
  sim: BenchSimulator,
  body: unknown,
  lines: number,
): Promise<Timed> {
  const submitsBefore = submitsOf(sim);
  const startedAt = Date.now();
  const started = performance.now();
  const accepted = await client.request<BatchView>('POST', '/v1/batches', body);
  const acceptSeconds = (performance.now() - started) / 1000;
  const done = await waitFor(
    `batch ${accepted.id} to complete`,
    async () => {
      const { rows } = await ctx.db.pool.query<{ status: string; done: string | null }>(
        `select status, (extract(epoch from completed_at) * 1000)::bigint as done
           from batches where id = $1`,
        [accepted.id],
      );
      const row = rows[0];
      return row && row.done !== null ? Number(row.done) : undefined;
    },
    { timeoutMs: 15 * 60_000, intervalMs: 20 },
  );
  const progress = await batchProgress(ctx.db, accepted.id);
  const { rows } = await ctx.db.pool.query<{ n: string }>(
    'select count(*) as n from clone_jobs where batch_id = $1 and reused_from is not null',
    [accepted.id],
  );
  const batch = await client.request<BatchView & { cost: ReuseCost }>(
    'GET',
    `/v1/batches/${accepted.id}`,
  );
  if (progress.succeeded !== lines) {
    throw new Error(`batch ${accepted.id}: ${JSON.stringify(progress)} of ${lines} lines`);
  }
  return {
    batchId: accepted.id,
    // The batch may be completed inside the accept transaction: no client knows before the 202.
    seconds: Math.max((done - startedAt) / 1000, acceptSeconds),
    acceptSeconds,
    submits: submitsOf(sim) - submitsBefore,
    succeeded: progress.succeeded,
    reusedLines: Number(rows[0]?.n),
    cost: batch.cost,
  };
}

async function reuseRun(ctx: BenchContext, lines: number, repeats: number): Promise<ReuseRun> {
  return inRun(ctx, 'reuse', async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: ZERO });
    scope.defer(() => sim.close());
    const api = await startApiProcess(scope.target);
    scope.own(api.child);
    scope.own(
      await startWorkerProcess(scope.target, sim.url, {
        env: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS) },
      }),
    );
    const client = new BenchApi(api.url, (await benchTenant(ctx.db)).apiKey);
    const created = await client.request<VoiceView>('POST', '/v1/voices', {
      audio: AUDIO,
      name: 'bench narrator',
    });
    const voice = await waitFor(
      'the voice to be ready',
      async () => {
        const v = await client.request<VoiceView>('GET', `/v1/voices/${created.id}`);
        if (v.status === 'failed') throw new Error(`the voice failed: ${JSON.stringify(v.error)}`);
        return v.status === 'ready' ? v : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const body = {
      voice_id: voice.id,
      model: MODEL,
      lines: narrationLines(lines, { seed: 14, tag: 'Chapter' }).map((text) => ({ text })),
    };
    ctx.log(`reuse:   the first batch of ${lines} lines (paid, through the pipeline)`);
    const first = await timedBatch(ctx, client, sim, body, lines);
    const again: Timed[] = [];
    for (let i = 1; i <= repeats; i++) {
      const r = await timedBatch(ctx, client, sim, body, lines);
      ctx.log(
        `reuse:   repeat ${i}: done in ${fmt(r.seconds, 2)} s, ${r.submits} upstream submits, ${r.reusedLines} lines reused`,
      );
      again.push(r);
    }
    return { lines, first, repeats: again };
  });
}

export async function reuseSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const lines = quick ? 1_000 : 10_000;
  const repeats = 3;
  ctx.log(`reuse: ${lines} lines, then the same batch ${repeats} times`);
  const run = await reuseRun(ctx, lines, repeats);
  const seconds = run.repeats.map((r) => r.seconds);
  const submits = run.repeats.reduce((n, r) => n + r.submits, 0);
  const pass = (ok: boolean) => (ok ? 'met' : '**not met**');
  const money = (n: number | null | undefined) =>
    n === null || n === undefined ? 'n/a' : fmt(n, 2);
  const figures: Figure[] = [
    {
      name: `A repeated ${fmt(lines, 0)}-line batch: POST /v1/batches → batch completed`,
      unit: 's',
      samples: seconds,
      decimals: 2,
      baseline: { name: 'the first, paid batch of the same lines', samples: [run.first.seconds] },
      ratio: { label: '× the first batch' },
    },
    {
      name: 'Of which until the 202',
      unit: 's',
      samples: run.repeats.map((r) => r.acceptSeconds),
      decimals: 2,
      baseline: { name: 'the first batch', samples: [run.first.acceptSeconds] },
      ratio: { label: '× the first batch' },
    },
    {
      name: 'Upstream submits during a repeated batch (simulator count)',
      unit: '',
      samples: run.repeats.map((r) => r.submits),
      decimals: 0,
      baseline: { name: 'the first batch', samples: [run.first.submits] },
    },
  ];
  return {
    id: 'reuse',
    title: '10. Reuse: the same batch again',
    headline: [
      `A repeated ${fmt(lines, 0)}-line batch done in ${fmt(median(seconds), 2)} s (first, paid run: ${fmt(run.first.seconds, 1)} s) with ${submits} upstream submits over ${repeats} repeats.`,
    ],
    method: `A spawned API and worker against the simulator (zero latency, ${SLOTS} slots), as in item 7: a
voice made with \`POST /v1/voices\` and waited for, then \`POST /v1/batches\` with its \`voice_id\`,
\`model: ${MODEL}\` and ${fmt(lines, 0)} lines (40–200 characters), waited for until the batch is
\`completed\` (every line succeeded and stored). Then the same body is posted again, ${repeats} times
one after the other (reuse is on by default): each is timed from sending the request to the
batch's \`completed_at\`, and the simulator's submit count is read before and after. One run: the
first batch is the baseline.`,
    figures,
    notes: [
      `**Goals** (issue 14): a repeated batch done in at most ${GOAL_SECONDS} s: ${fmt(median(seconds), 2)} s (median of ${repeats}; max ${fmt(Math.max(...seconds), 2)} s), ${pass(median(seconds) <= GOAL_SECONDS)}. Upstream submits: ${submits} over ${repeats} repeats, ${pass(submits === GOAL_SUBMITS)}.`,
      table(
        [
          'Batch',
          'Done (s)',
          'Until 202 (s)',
          'Upstream submits',
          'Lines succeeded / reused (reused_from set)',
          'Cost: estimated / actual / reused / saved (CNY)',
        ],
        [run.first, ...run.repeats].map((r, i) => [
          i === 0 ? 'first' : `repeat ${i}`,
          fmt(r.seconds, 2),
          fmt(r.acceptSeconds, 2),
          fmt(r.submits, 0),
          `${fmt(r.succeeded, 0)} / ${fmt(r.reusedLines, 0)}`,
          `${money(r.cost.estimated)} / ${money(r.cost.actual)} / ${r.cost.reused ?? 'n/a'} / ${money(r.cost.saved)}`,
        ]),
      ),
    ],
  };
}
