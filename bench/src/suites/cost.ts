import { performance } from 'node:perf_hooks';
import { waitFor } from '@voxline/testing/wait';
import { type BenchContext, inRun } from '../context.js';
import { type Figure, fmt, type Section, table } from '../report.js';
import { type BatchView, BenchApi, type Cost, type VoiceView } from '../services/api.js';
import { AUDIO_HOST, batchProgress, benchTenant } from '../services/database.js';
import { type BenchSimulator, startBenchSimulator } from '../services/simulator.js';
import { startApiProcess, startWorkerProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';

// Room on both sides, and no latency: the figures are money and counts, not time, so the
// suite runs as fast as the pipeline goes (a 10,000-line batch in about a minute).
const SLOTS = 200;
const ZERO = { baseMs: 0, perCharMs: 0, sigma: 0 };
const MODEL = 'speech-02-hd';
const LINE_CHARS = 100;
const AUDIO = `https://${AUDIO_HOST}/voices/narrator.wav`;
// The issue's goals for the cost item.
const GOAL_RATIO = 0.015;
const GOAL_CLONES_AFTER_DELETION = 1;
// Upstream forgets the voice once this share of the lines succeeded.
const FORGET_AT = 0.3;

/** `count` lines of exactly LINE_CHARS characters (upstream bills per character). */
function fixedLines(count: number): string[] {
  return narrationLines(count, { seed: 13, minChars: LINE_CHARS, maxChars: LINE_CHARS }).map(
    (line) => `${line.slice(0, -1).padEnd(LINE_CHARS - 1, 'a')}.`,
  );
}

async function tenantApi(ctx: BenchContext, url: string): Promise<BenchApi> {
  return new BenchApi(url, (await benchTenant(ctx.db)).apiKey);
}

async function waitForBatch(ctx: BenchContext, batchId: string, total: number, label: string) {
  return waitFor(
    `${label}: ${total} lines to finish`,
    async () => {
      const p = await batchProgress(ctx.db, batchId);
      return p.succeeded + p.failed + p.canceled === total ? p : undefined;
    },
    { timeoutMs: 15 * 60_000, intervalMs: 250 },
  );
}

/** The simulator's submits and bills, as its stats report them. */
function billing(sim: BenchSimulator) {
  const s = sim.handle.stats();
  return {
    cloneSubmits: s.cloneSubmits,
    speechSubmits: s.speechSubmits,
    billedClone: s.billed.voiceClone,
    billedSpeech: s.billed.speech,
  };
}

interface SpeechRun {
  lines: number;
  seconds: number;
  batch: BatchView;
  voice: VoiceView;
  /** Voice-clone tasks voxline made for the voice (clone_jobs rows of kind voice_clone). */
  cloneJobs: number;
  /** Speech lines that failed for good. */
  failed: number;
  sim: ReturnType<typeof billing>;
  /** The simulator's voice-clone submits before the deletion, and after it. */
  clonesBeforeDeletion: number;
  clonesAfterDeletion: number;
}

/**
 * One voice made with POST /v1/voices, then a batch of speech lines on it; once FORGET_AT of
 * them succeeded the simulator forgets the voice (as MiniMax does after 7 unused days), and
 * voxline must clone it again exactly once for every line still to come.
 */
async function speechRun(ctx: BenchContext, texts: string[]): Promise<SpeechRun> {
  return inRun(ctx, 'cost-speech', async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: ZERO });
    scope.defer(() => sim.close());
    const api = await startApiProcess(scope.target);
    scope.own(api.child);
    scope.own(
      await startWorkerProcess(scope.target, sim.url, {
        env: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS) },
      }),
    );
    const client = await tenantApi(ctx, api.url);
    const created = await client.request<VoiceView>('POST', '/v1/voices', {
      audio: AUDIO,
      name: 'bench narrator',
    });
    const ready = await waitFor(
      'the voice to be ready',
      async () => {
        const v = await client.request<VoiceView>('GET', `/v1/voices/${created.id}`);
        if (v.status === 'failed') throw new Error(`the voice failed: ${JSON.stringify(v.error)}`);
        return v.status === 'ready' ? v : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const started = performance.now();
    const accepted = await client.request<BatchView>('POST', '/v1/batches', {
      voice_id: ready.id,
      model: MODEL,
      lines: texts.map((text) => ({ text })),
    });
    await waitFor(
      `${Math.round(FORGET_AT * 100)} % of the lines to succeed`,
      async () => (await batchProgress(ctx.db, accepted.id)).succeeded >= FORGET_AT * texts.length,
      { timeoutMs: 10 * 60_000, intervalMs: 50 },
    );
    const before = billing(sim).cloneSubmits;
    if (!ready.upstream_voice_id || !sim.handle.forgetVoice(ready.upstream_voice_id)) {
      throw new Error(`the simulator does not know voice ${ready.upstream_voice_id}`);
    }
    ctx.log(`cost:   upstream forgot the voice with ${before} voice-clone submits so far`);
    const progress = await waitForBatch(ctx, accepted.id, texts.length, 'speech batch');
    const seconds = (performance.now() - started) / 1000;
    const after = billing(sim);
    const { rows } = await ctx.db.pool.query<{ n: string }>(
      `select count(*) as n from clone_jobs where voice_id = $1 and kind = 'voice_clone'`,
      [ready.id],
    );
    return {
      lines: texts.length,
      seconds,
      batch: await client.request<BatchView>('GET', `/v1/batches/${accepted.id}`),
      voice: await client.request<VoiceView>('GET', `/v1/voices/${ready.id}`),
      cloneJobs: Number(rows[0]?.n),
      failed: progress.failed,
      sim: after,
      clonesBeforeDeletion: before,
      clonesAfterDeletion: after.cloneSubmits - before,
    };
  });
}

interface CloneRun {
  lines: number;
  batch: BatchView;
  failed: number;
  sim: ReturnType<typeof billing>;
}

/** The same lines as one voice clone each (`per_line_clone: true`), as voxline did before. */
async function cloneRun(ctx: BenchContext, texts: string[]): Promise<CloneRun> {
  return inRun(ctx, 'cost-clone', async (scope) => {
    const sim = await startBenchSimulator({ maxInFlight: SLOTS, durations: ZERO });
    scope.defer(() => sim.close());
    const api = await startApiProcess(scope.target);
    scope.own(api.child);
    scope.own(
      await startWorkerProcess(scope.target, sim.url, {
        env: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS) },
      }),
    );
    const client = await tenantApi(ctx, api.url);
    const accepted = await client.request<BatchView>('POST', '/v1/batches', {
      voice: { audio: AUDIO, custom_voice_id: 'narrator01', model: MODEL },
      per_line_clone: true,
      lines: texts.map((text) => ({ text })),
    });
    const progress = await waitForBatch(ctx, accepted.id, texts.length, 'clone batch');
    return {
      lines: texts.length,
      batch: await client.request<BatchView>('GET', `/v1/batches/${accepted.id}`),
      failed: progress.failed,
      sim: billing(sim),
    };
  });
}

const cny = (n: number) => `${fmt(n, 2)} CNY`;
const exact = (n: number | null) => (n === null ? 'null' : fmt(n, 6));
const costCell = (c: Cost) => `${exact(c.estimated)} / ${exact(c.actual)}`;

export async function costSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const lines = quick ? 1_000 : 10_000;
  const cloneLines = quick ? 100 : 500;
  const texts = fixedLines(lines);

  ctx.log(`cost: ${lines} speech lines on one voice; upstream forgets it at ${FORGET_AT * 100} %`);
  const speech = await speechRun(ctx, texts);
  ctx.log(
    `cost:   ${speech.lines} lines in ${fmt(speech.seconds, 1)} s; ${speech.clonesAfterDeletion} voice-clone submit(s) after the deletion`,
  );
  ctx.log(`cost: the first ${cloneLines} of the same lines as one voice clone each`);
  const clone = await cloneRun(ctx, texts.slice(0, cloneLines));

  const scale = lines / cloneLines;
  const voxlineActual = (speech.batch.cost.actual ?? 0) + (speech.voice.cost.actual ?? 0);
  const voxlineEstimated = speech.batch.cost.estimated + speech.voice.cost.estimated;
  const simBilled = speech.sim.billedClone + speech.sim.billedSpeech;
  const perLine = (clone.batch.cost.actual ?? clone.batch.cost.estimated) * scale;
  const perLineSim = clone.sim.billedClone * scale;
  const perLineEstimated = clone.batch.cost.estimated * scale;
  const ratio = voxlineActual / perLine;
  const mismatch = Math.abs(voxlineActual - simBilled);
  const cloneMismatch = Math.abs((clone.batch.cost.actual ?? 0) - clone.sim.billedClone);

  const derivedClone = `the ${cloneLines}-line per_line_clone batch's cost × ${fmt(scale, 0)}`;
  const figures: Figure[] = [
    {
      name: `Cost of ${fmt(lines, 0)} ${MODEL} lines of ${LINE_CHARS} characters on one voice, its clones included (voxline's accounting: batch + voice, actual)`,
      unit: 'CNY',
      decimals: 2,
      samples: [voxlineActual],
      baseline: {
        name: 'the same lines cloned one by one',
        derived: derivedClone,
        samples: [perLine],
      },
      ratio: { label: '% of the clone-a-line cost', samples: [100 * ratio] },
    },
    {
      name: 'The same run as the simulator billed it (sum of consumeMoney of its tasks that succeeded)',
      unit: 'CNY',
      decimals: 2,
      samples: [simBilled],
      baseline: {
        name: 'the clone-a-line batch as the simulator billed it',
        derived: `× ${fmt(scale, 0)}`,
        samples: [perLineSim],
      },
      ratio: { label: '% of the clone-a-line cost', samples: [(100 * simBilled) / perLineSim] },
    },
    {
      name: 'Voice-clone submits after upstream forgot the voice mid-batch (simulator count)',
      unit: '',
      decimals: 0,
      samples: [speech.clonesAfterDeletion],
    },
  ];

  const pass = (ok: boolean) => (ok ? 'met' : '**not met**');
  const notes = [
    `**Accounting** (estimated / actual, CNY, as the API returns them; the simulator bills the
\`consumeMoney\` of each task that ended \`SUCCESS\`):

${table(
  ['', 'voxline: estimated / actual', 'simulator billed', 'submits the simulator accepted'],
  [
    [
      `speech batch (${fmt(lines, 0)} lines, ${speech.failed} failed)`,
      costCell(speech.batch.cost),
      exact(speech.sim.billedSpeech),
      `${fmt(speech.sim.speechSubmits, 0)} speech`,
    ],
    [
      `its voice (${speech.voice.clones} clones; ${speech.cloneJobs} voice_clone tasks in Postgres)`,
      costCell(speech.voice.cost),
      exact(speech.sim.billedClone),
      `${speech.sim.cloneSubmits} voice-clone (${speech.clonesBeforeDeletion} before the deletion)`,
    ],
    [
      `per_line_clone batch (${cloneLines} lines, ${clone.failed} failed)`,
      costCell(clone.batch.cost),
      exact(clone.sim.billedClone),
      `${fmt(clone.sim.cloneSubmits, 0)} voice-clone`,
    ],
  ],
)}

voxline's actual total for the speech run differs from what the simulator billed by
${exact(mismatch)} CNY; for the per-line clone batch by ${exact(cloneMismatch)} CNY. The
speech submits beyond ${fmt(lines, 0)} are lines submitted after the voice was forgotten and
before voxline learned of it (at most the worker's concurrency): their tasks failed upstream
with the missing-voice code (not billed), and the lines waited for the voice's new clone and
were spoken with it.`,
    `**Goals** (issue 13): at most ${fmt(100 * GOAL_RATIO, 1)} % of the clone-a-line cost:
${fmt(100 * ratio, 2)} %, ${pass(ratio <= GOAL_RATIO)}. At most ${GOAL_CLONES_AFTER_DELETION} voice-clone per voice per upstream
deletion: ${speech.clonesAfterDeletion}, ${pass(speech.clonesAfterDeletion <= GOAL_CLONES_AFTER_DELETION)}. The clone-a-line figure is measured on ${cloneLines} of the lines
and scaled (${derivedClone}); voxline's own estimate for all ${fmt(lines, 0)} lines
cloned one by one (the price list times the lines) is ${cny(perLineEstimated)}, and its
estimate for the speech run (batch + voice) was ${cny(voxlineEstimated)}.`,
  ];
  return {
    id: 'cost',
    title: '7. Cost of a batch: one voice against a clone a line',
    method: `A spawned API and worker against the simulator (in the bench process, zero latency,
${SLOTS} slots on both sides; public price list). A voice is created with \`POST /v1/voices\`
and waited for (\`ready\`), then \`POST /v1/batches\` with its \`voice_id\`,
\`model: ${MODEL}\` and ${fmt(lines, 0)} lines of exactly ${LINE_CHARS} characters. When
${fmt(100 * FORGET_AT, 0)} % of the lines have succeeded the simulator forgets the voice
(\`forgetVoice\`, as \`DELETE /_sim/voices/<id>\`), as MiniMax does with a voice unused for
7 days. Cost figures
are \`GET /v1/batches/:id\` → \`cost\` plus \`GET /v1/voices/:id\` → \`cost\` (the voice is not the
batch's: it was created on its own), checked against the simulator's billed totals per kind
(its stats). The baseline runs the first ${cloneLines} of the same lines as a
\`per_line_clone: true\` batch on a fresh stack and scales its cost to ${fmt(lines, 0)} lines. One run
of each: money and counts do not vary from run to run.`,
    figures,
    notes,
    headline: [
      `Cost of ${fmt(lines, 0)} ${MODEL} lines of ${LINE_CHARS} characters on one voice (voice clones included): ${cny(voxlineActual)} (simulator billed ${cny(simBilled)}), ${fmt(100 * ratio, 2)} % of cloning each line (${cny(perLine)}); voice-clone submits after an upstream deletion mid-batch: ${speech.clonesAfterDeletion}.`,
    ],
  };
}
