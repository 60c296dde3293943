import {
  type CloneResource,
  type CreateCloneBody,
  cloneResource,
  isSpeechLineBody,
  UUID_PATTERN,
} from '@voxline/contract';
import {
  ACTIVE_STATUSES,
  type AudioResult,
  type CloneJob,
  type CloneRequest,
  type Executor,
  findCloneJobByIdempotencyKey,
  getAudioResult,
  getCloneJob,
  getCloneJobWithAudio,
  insertCloneJobs,
  newId,
  transitionCloneJob,
} from '@voxline/db';
import { PRIORITY } from '@voxline/queue';
import { estimateTaskCost, toSubmitBody, type VoiceCloneParams } from '@voxline/runninghub';
import { completeBatch, recordCloneEvent } from '@voxline/webhooks';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../context.js';
import { ApiError, isUniqueViolation, notFound, validationError } from '../errors.js';
import { enqueueDeliveriesLogged, enqueueSubmits } from './enqueue.js';
import { type Accepted, requestHash } from './idempotency.js';
import { assertPendingRoom } from './limits.js';
import { completeReused, countReuse, type LineRow, planReuse, withCanonicalHash } from './reuse.js';
import { lockNamedVoices, speechRequest } from './speakers.js';
import { checkTargets, targetCheckOptions } from './targets.js';

export interface Caller {
  tenantId: string;
  /** The tenant's own limit of lines not yet terminal; null: TENANT_MAX_PENDING_LINES. */
  maxPendingLines: number | null;
  log: FastifyBaseLogger;
}

/** The exact upstream params: defaults applied, optional fields left out (contract). */
export function upstreamRequest(params: VoiceCloneParams): CloneRequest {
  return toSubmitBody(params) as unknown as CloneRequest;
}

export function idempotencyConflict(): ApiError {
  return new ApiError(
    409,
    'idempotency_conflict',
    'this Idempotency-Key was already used with a different request body',
  );
}

async function replayClone(ctx: AppContext, existing: CloneJob, hash: string) {
  if (existing.requestHash !== hash) throw idempotencyConflict();
  const audio = await getAudioResult(ctx.db, {
    tenantId: existing.tenantId,
    cloneJobId: existing.id,
  });
  return { replayed: true, resource: cloneResource(existing, audio, { baseUrl: ctx.baseUrl }) };
}

/** The row of a single line: a voice clone, or a speech line with its voice. */
async function singleLineRow(
  ctx: AppContext,
  tx: Executor,
  caller: Caller,
  body: CreateCloneBody,
): Promise<Omit<LineRow, 'id' | 'tenantId' | 'idempotencyKey' | 'requestHash'>> {
  const common = {
    priority: PRIORITY.interactive,
    ref: body.ref ?? null,
    webhookUrl: body.webhook_url ?? null,
    metadata: body.metadata ?? null,
  };
  if (!isSpeechLineBody(body)) {
    return {
      ...common,
      kind: 'voice_clone',
      voiceId: null,
      request: upstreamRequest(body),
      estimatedCost: estimateTaskCost(ctx.prices, { kind: 'voice_clone' }),
    };
  }
  if (body.voice_id !== undefined) {
    await lockNamedVoices(tx, caller.tenantId, [{ id: body.voice_id, path: 'voice_id' }]);
  }
  const {
    model,
    text,
    voice_id,
    system_voice,
    ref,
    webhook_url,
    metadata,
    reuse_audio,
    ...settings
  } = body;
  return {
    ...common,
    kind: 'speech',
    voiceId: voice_id ?? null,
    request: speechRequest({ model, text, settings, systemVoice: system_voice }),
    estimatedCost: estimateTaskCost(ctx.prices, { kind: 'speech', model, text }),
  };
}

/**
 * One line at interactive priority: a voice-clone call (the clone fields), or a speech line
 * spoken with a voice of the tenant's (`voice_id`) or a system voice. A line asking exactly
 * what the tenant already has stored succeeds at once from it (unless `reuse_audio: false`).
 */
export async function createClone(
  ctx: AppContext,
  caller: Caller,
  body: CreateCloneBody,
  idempotencyKey: string | undefined,
): Promise<Accepted<CloneResource>> {
  const { db } = ctx;
  const { tenantId } = caller;
  const hash = requestHash(body);
  if (idempotencyKey) {
    const existing = await findCloneJobByIdempotencyKey(db, { tenantId, idempotencyKey });
    if (existing) return replayClone(ctx, existing, hash);
  }
  const problems = await checkTargets(
    [
      ...(isSpeechLineBody(body)
        ? []
        : [{ kind: 'audio' as const, url: body.audio, path: 'audio' }]),
      ...(body.webhook_url
        ? [{ kind: 'webhook' as const, url: body.webhook_url, path: 'webhook_url' }]
        : []),
    ],
    ctx.allowlists,
    targetCheckOptions(ctx.config),
  );
  if (problems.length > 0) throw validationError(problems);

  const id = newId();
  let accepted: {
    job: CloneJob;
    audio: AudioResult | null;
    reuse: Awaited<ReturnType<typeof planReuse>>;
    deliveries: string[];
  };
  try {
    accepted = await db.transaction(async (tx) => {
      await assertPendingRoom(ctx, tx, caller, 1);
      const row = withCanonicalHash({
        id,
        tenantId,
        ...(await singleLineRow(ctx, tx, caller, body)),
        idempotencyKey: idempotencyKey ?? null,
        requestHash: hash,
      });
      const reuse =
        body.reuse_audio === false ? [] : await planReuse(tx, tenantId, [row], () => true);
      // Writes the row and its `queued` event together.
      await insertCloneJobs(tx, [row]);
      const reused = await completeReused(ctx, tx, tenantId, reuse);
      const inserted = reused.jobs[0] ?? (await getCloneJob(tx, { tenantId, id }));
      if (!inserted) throw new Error(`clone job ${id} vanished inside its own transaction`);
      const audio =
        reuse.length > 0 ? await getAudioResult(tx, { tenantId, cloneJobId: id }) : null;
      return { job: inserted, audio, reuse, deliveries: reused.deliveries };
    });
  } catch (error) {
    // Two identical requests raced: the unique index let one in; answer the other with it.
    if (idempotencyKey && isUniqueViolation(error, 'clone_jobs_tenant_idempotency_key_uq')) {
      const existing = await findCloneJobByIdempotencyKey(db, { tenantId, idempotencyKey });
      if (existing) return replayClone(ctx, existing, hash);
    }
    throw error;
  }
  const { job, audio, reuse, deliveries } = accepted;
  if (reuse.length > 0) {
    countReuse(ctx, tenantId, reuse);
    caller.log.info({ cloneJobId: id, reusedFrom: job.reusedFrom }, 'clone reused stored audio');
    await enqueueDeliveriesLogged(ctx, deliveries, caller.log);
  } else {
    await enqueueSubmits(ctx.queues, [job], caller.log);
  }
  return { replayed: false, resource: cloneResource(job, audio, { baseUrl: ctx.baseUrl }) };
}

export async function getClone(ctx: AppContext, caller: Caller, id: string) {
  if (!UUID_PATTERN.test(id)) throw notFound('clone');
  const found = await getCloneJobWithAudio(ctx.db, { tenantId: caller.tenantId, id });
  if (!found) throw notFound('clone');
  return cloneResource(found.job, found.audio, { baseUrl: ctx.baseUrl });
}

/**
 * Cancels one clone. Only voxline's record changes: RunningHub has no v2 cancel, so a task
 * already submitted is left to finish upstream (and is paid for); its result is dropped. The
 * worker keeps polling such a task only to learn when it ends and free the upstream slot, and
 * its conditional transitions from `running` find the job `canceled` and change nothing.
 */
export async function cancelClone(ctx: AppContext, caller: Caller, id: string) {
  const { db } = ctx;
  if (!UUID_PATTERN.test(id)) throw notFound('clone');
  const current = await getCloneJob(db, { tenantId: caller.tenantId, id });
  if (!current) throw notFound('clone');
  const done = await db.transaction(async (tx) => {
    const job = await transitionCloneJob(tx, {
      tenantId: caller.tenantId,
      id,
      from: ACTIVE_STATUSES,
      to: 'canceled',
      detail: { reason: 'canceled by request' },
    });
    if (!job) return null;
    return { job, deliveries: await recordCloneEvent(tx, job, { baseUrl: ctx.baseUrl }) };
  });
  if (!done) {
    const now = await getCloneJob(db, { tenantId: caller.tenantId, id });
    throw new ApiError(409, 'not_cancelable', `the clone is already ${now?.status ?? 'finished'}`, {
      status: now?.status ?? null,
    });
  }
  const deliveries = [...done.deliveries];
  // Canceling a batch's last active line finishes the batch (as completed: the batch itself
  // was not canceled).
  if (done.job.batchId) {
    deliveries.push(
      ...((await completeBatch(db, { tenantId: caller.tenantId, batchId: done.job.batchId })) ??
        []),
    );
  }
  await enqueueDeliveriesLogged(ctx, deliveries, caller.log);
  return cloneResource(done.job, null, { baseUrl: ctx.baseUrl });
}
