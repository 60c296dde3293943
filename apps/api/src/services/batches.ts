import {
  acceptedBatch,
  batchResource,
  type CreateBatchBody,
  cloneResource,
  UUID_PATTERN,
} from '@voxline/contract';
import {
  type Batch,
  type CloneStatus,
  cancelActiveBatchJobs,
  countBatchStatuses,
  findBatchByIdempotencyKey,
  getBatch,
  insertBatch,
  insertCloneJobs,
  listBatchCloneJobs,
  type NewCloneJob,
  newId,
} from '@voxline/db';
import { PRIORITY } from '@voxline/queue';
import { VOICE_FIELDS, type VoiceCloneParams } from '@voxline/runninghub';
import { completeBatch, recordCloneEvents } from '@voxline/webhooks';
import type { AppContext } from '../context.js';
import { isUniqueViolation, notFound, validationError } from '../errors.js';
import { type Caller, idempotencyConflict, upstreamRequest } from './clones.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { enqueueDeliveriesLogged, enqueueSubmits } from './enqueue.js';
import { requestHash } from './idempotency.js';
import { checkTargets, type TargetCheck } from './targets.js';

// Lines canceled per transaction: each line also writes its webhook event, so a chunk holds
// its row locks for a bounded time while workers may be waiting on them.
const CANCEL_CHUNK = 1_000;

function replayBatch(existing: Batch, hash: string) {
  if (existing.requestHash !== hash) throw idempotencyConflict();
  return { replayed: true, resource: acceptedBatch(existing) };
}

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
    if (existing) return replayBatch(existing, hash);
  }

  const batchId = newId();
  const checks: TargetCheck[] = [{ kind: 'audio', url: body.voice.audio, path: 'voice.audio' }];
  if (body.webhook_url)
    checks.push({ kind: 'webhook', url: body.webhook_url, path: 'webhook_url' });
  const rows: NewCloneJob[] = body.lines.map((line, index) => {
    const params: VoiceCloneParams = { ...body.voice, text: line.text };
    for (const field of VOICE_FIELDS) {
      if (line[field] !== undefined) Object.assign(params, { [field]: line[field] });
    }
    if (line.audio !== undefined) {
      checks.push({ kind: 'audio', url: line.audio, path: `lines.${index}.audio` });
    }
    return {
      id: newId(),
      tenantId,
      batchId,
      lineIndex: index,
      ref: line.ref ?? null,
      priority: PRIORITY.batch,
      request: upstreamRequest(params),
      webhookUrl: body.webhook_url ?? null,
    };
  });
  const problems = await checkTargets(checks, ctx.allowlists);
  if (problems.length > 0) throw validationError(problems);

  let batch: Batch;
  try {
    batch = await db.transaction(async (tx) => {
      const inserted = await insertBatch(tx, {
        id: batchId,
        tenantId,
        status: 'running',
        total: rows.length,
        voice: body.voice,
        webhookUrl: body.webhook_url ?? null,
        metadata: body.metadata ?? null,
        idempotencyKey: idempotencyKey ?? null,
        requestHash: hash,
      });
      await insertCloneJobs(tx, rows);
      return inserted;
    });
  } catch (error) {
    if (idempotencyKey && isUniqueViolation(error, 'batches_tenant_idempotency_key_uq')) {
      const existing = await findBatchByIdempotencyKey(db, { tenantId, idempotencyKey });
      if (existing) return replayBatch(existing, hash);
    }
    throw error;
  }
  caller.log.info({ batchId, lines: rows.length }, 'batch accepted');
  await enqueueSubmits(
    ctx.queues,
    rows.map((row) => ({ id: row.id, tenantId, run: 1, priority: PRIORITY.batch })),
    caller.log,
  );
  return { replayed: false, resource: acceptedBatch(batch) };
}

async function ownBatch(ctx: AppContext, caller: Caller, id: string): Promise<Batch> {
  if (!UUID_PATTERN.test(id)) throw notFound('batch');
  const batch = await getBatch(ctx.db, { tenantId: caller.tenantId, id });
  if (!batch) throw notFound('batch');
  return batch;
}

export async function getBatchResource(ctx: AppContext, caller: Caller, id: string) {
  const batch = await ownBatch(ctx, caller, id);
  return batchResource(
    batch,
    await countBatchStatuses(ctx.db, { tenantId: caller.tenantId, batchId: batch.id }),
  );
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
    data: page.map((row) => cloneResource(row.job, row.audio)),
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
      const deliveries = await recordCloneEvents(tx, jobs);
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
    await enqueueDeliveriesLogged(ctx.queues, chunk.deliveries, caller.log);
    if (chunk.count < CANCEL_CHUNK) break;
  }
  caller.log.info({ batchId: batch.id, canceled }, 'batch canceled');
  const after = (await getBatch(db, { tenantId: caller.tenantId, id: batch.id })) ?? batch;
  return {
    ...batchResource(
      after,
      await countBatchStatuses(db, { tenantId: caller.tenantId, batchId: batch.id }),
    ),
    canceled,
  };
}
