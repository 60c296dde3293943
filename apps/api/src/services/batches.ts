import {
  acceptedBatch,
  batchResource,
  type CreateBatchBody,
  CURRENCY,
  cloneResource,
  type InlineVoiceBody,
  isSpeechModel,
  UUID_PATTERN,
} from '@voxline/contract';
import {
  type Batch,
  batchCost,
  type CloneJob,
  type CloneStatus,
  cancelActiveBatchJobs,
  countBatchStatuses,
  createVoiceWithClone,
  type Executor,
  findBatchByIdempotencyKey,
  findReusableVoice,
  getBatch,
  insertBatch,
  insertCloneJobs,
  listBatchCloneJobs,
  lockVoiceSettings,
  type NewCloneJob,
  newId,
} from '@voxline/db';
import { PRIORITY } from '@voxline/queue';
import {
  DEFAULT_SPEECH_MODEL,
  estimateTaskCost,
  roundPrice,
  VOICE_FIELDS,
  type VoiceCloneParams,
} from '@voxline/runninghub';
import { completeBatch, recordCloneEvents } from '@voxline/webhooks';
import type { AppContext } from '../context.js';
import { ApiError, isUniqueViolation, notFound, validationError } from '../errors.js';
import { type Caller, idempotencyConflict, upstreamRequest } from './clones.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { enqueueDeliveriesLogged, enqueueSubmits } from './enqueue.js';
import { requestHash } from './idempotency.js';
import { assertPendingRoom } from './limits.js';
import {
  completeReused,
  countReuse,
  planReuse,
  type ReuseMatch,
  savedBy,
  withCanonicalHash,
} from './reuse.js';
import { lockNamedVoices, speechRequest, type VoiceReference } from './speakers.js';
import { checkTargets, type TargetCheck, targetCheckOptions } from './targets.js';
import { cloneSettings, voiceSettingsHash } from './voice-settings.js';

// Lines canceled per transaction: each line also writes its webhook event, so a chunk holds
// its row locks for a bounded time while workers may be waiting on them.
const CANCEL_CHUNK = 1_000;

async function replayBatch(ctx: AppContext, existing: Batch, hash: string) {
  if (existing.requestHash !== hash) throw idempotencyConflict();
  const cost = await batchCost(ctx.db, { tenantId: existing.tenantId, batchId: existing.id });
  return { replayed: true, resource: acceptedBatch(existing, cost) };
}

interface BatchPlan {
  rows: NewCloneJob[];
  /** The voice the lines are spoken with by default; null for a system voice or clone lines. */
  voiceId: string | null;
  /** The voice the batch's inline voice makes, when no identical voice could be reused. */
  newVoice: Parameters<typeof createVoiceWithClone>[1]['voice'] | null;
  estimated: number;
}

/** `per_line_clone: true`: every line is a voice clone with the batch voice and its overrides. */
function perLineClonePlan(
  ctx: AppContext,
  tenantId: string,
  batchId: string,
  body: CreateBatchBody,
  voice: InlineVoiceBody,
): BatchPlan {
  const estimatedCost = estimateTaskCost(ctx.prices, { kind: 'voice_clone' });
  const rows: NewCloneJob[] = body.lines.map((line, index) => {
    // The schema made custom_voice_id required in this mode.
    const params = { ...voice, text: line.text } as VoiceCloneParams;
    for (const field of VOICE_FIELDS) {
      if (line[field] !== undefined) Object.assign(params, { [field]: line[field] });
    }
    return withCanonicalHash({
      id: newId(),
      tenantId,
      batchId,
      lineIndex: index,
      ref: line.ref ?? null,
      priority: PRIORITY.batch,
      kind: 'voice_clone',
      voiceId: null,
      request: upstreamRequest(params),
      estimatedCost,
      webhookUrl: body.webhook_url ?? null,
    });
  });
  return { rows, voiceId: null, newVoice: null, estimated: sumCosts(rows) };
}

/** Speech lines: each with its voice (the line's, else the batch's), model and settings. */
function speechRows(
  ctx: AppContext,
  tenantId: string,
  batchId: string,
  body: CreateBatchBody,
  batchVoiceId: string | null,
): NewCloneJob[] {
  // A batch that names no speech model speaks with its inline voice's model when that model
  // has a speech endpoint (the 2.5 previews are clone-only).
  const inlineModel = body.voice?.model;
  const defaultModel =
    body.model ?? (isSpeechModel(inlineModel) ? inlineModel : DEFAULT_SPEECH_MODEL);
  return body.lines.map((line, index) => {
    // The schema refused a line model that is not a speech model.
    const model = isSpeechModel(line.model) ? line.model : defaultModel;
    const systemVoice =
      line.voice_id !== undefined ? undefined : (line.system_voice ?? body.system_voice);
    const voiceId = line.voice_id ?? (systemVoice !== undefined ? null : batchVoiceId);
    return withCanonicalHash({
      id: newId(),
      tenantId,
      batchId,
      lineIndex: index,
      ref: line.ref ?? null,
      priority: PRIORITY.batch,
      kind: 'speech',
      voiceId,
      request: speechRequest({
        model,
        text: line.text,
        settings: { ...body.speech, ...line.speech },
        systemVoice,
      }),
      estimatedCost: estimateTaskCost(ctx.prices, { kind: 'speech', model, text: line.text }),
      webhookUrl: body.webhook_url ?? null,
    });
  });
}

function sumCosts(rows: NewCloneJob[]): number {
  return roundPrice(rows.reduce((sum, row) => sum + (row.estimatedCost ?? 0), 0));
}

/**
 * Inside the batch's transaction: locks the voices the batch names (404 / 422 for unknown or
 * failed ones), and finds the voice of its inline `voice` (an identical one of the tenant's,
 * reused, or a new one to clone once).
 */
async function speechPlan(
  ctx: AppContext,
  tx: Executor,
  tenantId: string,
  batchId: string,
  body: CreateBatchBody,
): Promise<BatchPlan> {
  const named: VoiceReference[] = [];
  if (body.voice_id !== undefined) named.push({ id: body.voice_id, path: 'voice_id' });
  body.lines.forEach((line, index) => {
    if (line.voice_id !== undefined) {
      named.push({ id: line.voice_id, path: `lines.${index}.voice_id` });
    }
  });
  await lockNamedVoices(tx, tenantId, named);

  if (!body.voice) {
    const rows = speechRows(ctx, tenantId, batchId, body, body.voice_id ?? null);
    return { rows, voiceId: body.voice_id ?? null, newVoice: null, estimated: sumCosts(rows) };
  }
  const settings = cloneSettings(body.voice);
  const settingsHash = voiceSettingsHash({ url: body.voice.audio }, settings);
  await lockVoiceSettings(tx, { tenantId, settingsHash });
  const reusable = await findReusableVoice(tx, { tenantId, settingsHash });
  const voiceId = reusable?.id ?? newId();
  const rows = speechRows(ctx, tenantId, batchId, body, voiceId);
  if (reusable) return { rows, voiceId, newVoice: null, estimated: sumCosts(rows) };
  return {
    rows,
    voiceId,
    newVoice: {
      id: voiceId,
      tenantId,
      name: body.voice.custom_voice_id ?? null,
      audioUrl: body.voice.audio,
      settings,
      previewText: ctx.config.VOICE_PREVIEW_TEXT,
      settingsHash,
      createdByBatchId: batchId,
    },
    estimated: roundPrice(sumCosts(rows) + estimateTaskCost(ctx.prices, { kind: 'voice_clone' })),
  };
}

function budgetExceeded(estimated: number, maxCost: number): ApiError {
  return new ApiError(
    422,
    'budget_exceeded',
    `the batch is estimated at ${estimated} CNY, over its max_cost of ${maxCost} CNY`,
    { estimated, max_cost: maxCost, currency: CURRENCY },
  );
}

/** What `batches.voice` keeps: the batch's voice as given (clone fields, or who speaks how). */
function batchVoiceRecord(body: CreateBatchBody): Record<string, unknown> {
  if (body.per_line_clone && body.voice) return body.voice;
  const record: Record<string, unknown> = {};
  for (const field of ['voice', 'voice_id', 'system_voice', 'model', 'speech'] as const) {
    if (body[field] !== undefined) record[field] = body[field];
  }
  return record;
}

/**
 * Writes a batch and its lines in one transaction, then enqueues them (the clone of a voice
 * it created first). Every refusal (a bad URL, an unknown or failed voice, an estimate over
 * `max_cost`) is raised before or inside that transaction, so it writes nothing.
 */
export async function createBatch(
  ctx: AppContext,
  caller: Caller,
  body: CreateBatchBody,
  idempotencyKey: string | undefined,
) {
  const { db } = ctx;
  const { tenantId } = caller;
  const hash = requestHash(body);
  if (idempotencyKey) {
    const existing = await findBatchByIdempotencyKey(db, { tenantId, idempotencyKey });
    if (existing) return replayBatch(ctx, existing, hash);
  }

  const batchId = newId();
  const checks: TargetCheck[] = [];
  if (body.voice) checks.push({ kind: 'audio', url: body.voice.audio, path: 'voice.audio' });
  if (body.per_line_clone) {
    body.lines.forEach((line, index) => {
      if (line.audio !== undefined) {
        checks.push({ kind: 'audio', url: line.audio, path: `lines.${index}.audio` });
      }
    });
  }
  if (body.webhook_url)
    checks.push({ kind: 'webhook', url: body.webhook_url, path: 'webhook_url' });
  const problems = await checkTargets(checks, ctx.allowlists, targetCheckOptions(ctx.config));
  if (problems.length > 0) throw validationError(problems);

  let accepted: {
    batch: Batch;
    plan: BatchPlan;
    voiceClone: CloneJob | null;
    reuse: ReuseMatch[];
    deliveries: string[];
  };
  try {
    accepted = await db.transaction(async (tx) => {
      await assertPendingRoom(ctx, tx, caller, body.lines.length);
      const planned =
        body.per_line_clone && body.voice
          ? perLineClonePlan(ctx, tenantId, batchId, body, body.voice)
          : await speechPlan(ctx, tx, tenantId, batchId, body);
      // A line's reuse_audio over the batch's; reuse is on unless one says false.
      const reuse = await planReuse(
        tx,
        tenantId,
        planned.rows,
        (_row, index) => (body.lines[index]?.reuse_audio ?? body.reuse_audio) !== false,
      );
      // The budget is what will be paid: reused lines cost nothing.
      const plan = { ...planned, estimated: roundPrice(planned.estimated - savedBy(reuse)) };
      if (body.max_cost !== undefined && plan.estimated > body.max_cost) {
        throw budgetExceeded(plan.estimated, body.max_cost);
      }
      const created = plan.newVoice
        ? await createVoiceWithClone(tx, {
            voice: plan.newVoice,
            priority: PRIORITY.interactive,
            estimatedCost: estimateTaskCost(ctx.prices, { kind: 'voice_clone' }),
          })
        : null;
      const batch = await insertBatch(tx, {
        id: batchId,
        tenantId,
        status: 'running',
        total: plan.rows.length,
        voice: batchVoiceRecord(body),
        voiceId: plan.voiceId,
        maxCost: body.max_cost ?? null,
        webhookUrl: body.webhook_url ?? null,
        metadata: body.metadata ?? null,
        idempotencyKey: idempotencyKey ?? null,
        requestHash: hash,
      });
      await insertCloneJobs(tx, plan.rows);
      const reused = await completeReused(ctx, tx, tenantId, reuse);
      return {
        batch,
        plan,
        voiceClone: created?.job ?? null,
        reuse,
        deliveries: reused.deliveries,
      };
    });
  } catch (error) {
    if (idempotencyKey && isUniqueViolation(error, 'batches_tenant_idempotency_key_uq')) {
      const existing = await findBatchByIdempotencyKey(db, { tenantId, idempotencyKey });
      if (existing) return replayBatch(ctx, existing, hash);
    }
    throw error;
  }
  const { plan, voiceClone, reuse, deliveries } = accepted;
  let { batch } = accepted;
  caller.log.info(
    {
      batchId,
      lines: plan.rows.length,
      reused: reuse.length,
      voiceId: plan.voiceId,
      newVoice: voiceClone !== null,
    },
    'batch accepted',
  );
  countReuse(ctx, tenantId, reuse);
  const reusedIds = new Set(reuse.map((m) => m.row.id));
  await enqueueSubmits(
    ctx.queues,
    [
      ...(voiceClone ? [voiceClone] : []),
      ...plan.rows
        .filter((row) => !reusedIds.has(row.id))
        .map((row) => ({ id: row.id, tenantId, run: 1, priority: PRIORITY.batch })),
    ],
    caller.log,
  );
  if (reuse.length === plan.rows.length) {
    // Every line reused stored audio: nothing will run, so the batch is done now.
    deliveries.push(...((await completeBatch(db, { tenantId, batchId })) ?? []));
    batch = (await getBatch(db, { tenantId, id: batchId })) ?? batch;
  }
  await enqueueDeliveriesLogged(ctx, deliveries, caller.log);
  return {
    replayed: false,
    resource: acceptedBatch(batch, {
      estimated: plan.estimated,
      // Reused lines were billed nothing, which is known already.
      actual: reuse.length > 0 ? 0 : null,
      reused: reuse.length,
      saved: savedBy(reuse),
    }),
  };
}

async function ownBatch(ctx: AppContext, caller: Caller, id: string): Promise<Batch> {
  if (!UUID_PATTERN.test(id)) throw notFound('batch');
  const batch = await getBatch(ctx.db, { tenantId: caller.tenantId, id });
  if (!batch) throw notFound('batch');
  return batch;
}

async function batchView(db: Executor, batch: Batch) {
  const params = { tenantId: batch.tenantId, batchId: batch.id };
  return batchResource(batch, await countBatchStatuses(db, params), await batchCost(db, params));
}

export async function getBatchResource(ctx: AppContext, caller: Caller, id: string) {
  return batchView(ctx.db, await ownBatch(ctx, caller, id));
}

// line_index is an int4: a cursor carrying a larger number (only a forged one can) made
// Postgres fail the query with a 500 (found by chaos/test/hostile-input.test.ts).
const MAX_LINE_INDEX = 2_147_483_647;
const isLineIndex = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_LINE_INDEX;

export async function listBatchClones(
  ctx: AppContext,
  caller: Caller,
  id: string,
  query: { status?: CloneStatus | undefined; limit: number; cursor?: string | undefined },
) {
  const afterLineIndex = decodeCursor('batch-clones', query.cursor, isLineIndex);
  const batch = await ownBatch(ctx, caller, id);
  // One more than asked tells whether there is a next page without a count.
  const rows = await listBatchCloneJobs(ctx.db, {
    tenantId: caller.tenantId,
    batchId: batch.id,
    ...(query.status ? { status: query.status } : {}),
    ...(afterLineIndex !== undefined ? { afterLineIndex } : {}),
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1)?.job.lineIndex;
  return {
    data: page.map((row) => cloneResource(row.job, row.audio, { baseUrl: ctx.baseUrl })),
    next_cursor:
      rows.length > query.limit && last !== undefined && last !== null
        ? encodeCursor('batch-clones', last)
        : null,
  };
}

/**
 * Cancels every line of a batch that is not terminal, a chunk per transaction, each canceled
 * line with its `clone.canceled` event; the last chunk also marks the batch `canceled` (with
 * its `batch.completed` event). As for single clones, lines already submitted upstream are
 * left to finish there and their results are dropped (RunningHub has no v2 cancel).
 */
export async function cancelBatch(ctx: AppContext, caller: Caller, id: string) {
  const { db } = ctx;
  const batch = await ownBatch(ctx, caller, id);
  let canceled = 0;
  for (;;) {
    const chunk = await db.transaction(async (tx) => {
      const jobs = await cancelActiveBatchJobs(tx, {
        tenantId: caller.tenantId,
        batchId: batch.id,
        limit: CANCEL_CHUNK,
        detail: { reason: 'batch canceled by request' },
      });
      const deliveries = await recordCloneEvents(tx, jobs, { baseUrl: ctx.baseUrl });
      if (jobs.length < CANCEL_CHUNK) {
        // Same transaction as the last cancels: no worker can complete the batch in between.
        const finished = await completeBatch(tx, {
          tenantId: caller.tenantId,
          batchId: batch.id,
          status: 'canceled',
        });
        if (finished) deliveries.push(...finished);
      }
      return { count: jobs.length, deliveries };
    });
    canceled += chunk.count;
    await enqueueDeliveriesLogged(ctx, chunk.deliveries, caller.log);
    if (chunk.count < CANCEL_CHUNK) break;
  }
  caller.log.info({ batchId: batch.id, canceled }, 'batch canceled');
  const after = (await getBatch(db, { tenantId: caller.tenantId, id: batch.id })) ?? batch;
  return { ...(await batchView(db, after)), canceled };
}
