import { deadLetterResource, UUID_PATTERN } from '@voxline/contract';
import {
  type CloneJob,
  type Executor,
  listDeadLetters,
  redriveDeadLetters,
  restartVoiceClone,
  resumeVoiceClone,
} from '@voxline/db';
import { PRIORITY } from '@voxline/queue';
import { estimateTaskCost } from '@voxline/runninghub';
import type { AppContext } from '../context.js';
import type { Caller } from './clones.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { enqueueSubmits } from './enqueue.js';
import { assertPendingRoom } from './limits.js';

// Dead letters redriven per transaction (their jobs, events and batches move together).
const REDRIVE_CHUNK = 1_000;

const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_PATTERN.test(v);

export async function listTenantDeadLetters(
  ctx: AppContext,
  caller: Caller,
  query: {
    batch_id?: string | undefined;
    error_code?: string | undefined;
    since?: Date | undefined;
    include_redriven?: boolean | undefined;
    limit: number;
    cursor?: string | undefined;
  },
) {
  const afterId = decodeCursor('dead-letters', query.cursor, isUuid);
  const rows = await listDeadLetters(ctx.db, {
    tenantId: caller.tenantId,
    ...(query.batch_id ? { batchId: query.batch_id } : {}),
    ...(query.error_code ? { errorCode: query.error_code } : {}),
    ...(query.since ? { since: query.since } : {}),
    includeRedriven: query.include_redriven ?? false,
    ...(afterId ? { afterId } : {}),
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    data: page.map(deadLetterResource),
    next_cursor: rows.length > query.limit && last ? encodeCursor('dead-letters', last.id) : null,
  };
}

/**
 * The voices of redriven lines whose clone failed start cloning again, in the redrive's
 * transaction, so that the lines find them `cloning` and wait instead of failing at once: a
 * redriven clone task of a voice puts that voice back to `cloning` (it is the clone), and a
 * failed voice of redriven speech lines gets one new clone task (a compare-and-set from
 * `failed`, so one per voice however many of its lines are redriven). Returns the new
 * clone tasks, to enqueue with the lines.
 */
async function restartFailedVoices(
  ctx: AppContext,
  tx: Executor,
  tenantId: string,
  jobs: CloneJob[],
): Promise<CloneJob[]> {
  for (const job of jobs) {
    if (job.kind === 'voice_clone' && job.voiceId) {
      await resumeVoiceClone(tx, { tenantId, voiceId: job.voiceId, cloneJobId: job.id });
    }
  }
  const voiceIds = new Set(
    jobs.flatMap((job) => (job.kind === 'speech' && job.voiceId ? [job.voiceId] : [])),
  );
  const clones: CloneJob[] = [];
  for (const voiceId of voiceIds) {
    const restarted = await restartVoiceClone(tx, {
      tenantId,
      voiceId,
      from: 'failed',
      reason: 'lines redriven',
      priority: PRIORITY.interactive,
      estimatedCost: estimateTaskCost(ctx.prices, { kind: 'voice_clone' }),
    });
    if (restarted) clones.push(restarted.job);
  }
  return clones;
}

/**
 * Starts every selected, not yet redriven dead letter's job again as a fresh run (see
 * `redriveDeadLetters`), a chunk per transaction, enqueueing each chunk after it commits.
 */
export async function redrive(
  ctx: AppContext,
  caller: Caller,
  selection: {
    ids?: string[] | undefined;
    batch_id?: string | undefined;
    error_code?: string | undefined;
  },
) {
  const ids: string[] = [];
  const cloneIds: string[] = [];
  let afterId: string | undefined;
  for (;;) {
    const chunk = await ctx.db.transaction(async (tx) => {
      const redriven = await redriveDeadLetters(tx, {
        tenantId: caller.tenantId,
        ...(selection.ids ? { ids: selection.ids } : {}),
        ...(selection.batch_id ? { batchId: selection.batch_id } : {}),
        ...(selection.error_code ? { errorCode: selection.error_code } : {}),
        ...(afterId ? { afterId } : {}),
        limit: REDRIVE_CHUNK,
      });
      // Redriven lines are pending again: they count against the tenant's limit like new ones
      // (counted after the redrive, inside its transaction, so a refusal undoes this chunk).
      await assertPendingRoom(ctx, tx, caller, 0);
      const jobs = redriven.redriven.map((r) => r.job);
      return {
        ...redriven,
        voiceClones: await restartFailedVoices(ctx, tx, caller.tenantId, jobs),
      };
    });
    for (const { deadLetterId, job } of chunk.redriven) {
      ids.push(deadLetterId);
      cloneIds.push(job.id);
    }
    // The voices' clones first: they are what the lines wait for.
    await enqueueSubmits(
      ctx.queues,
      [...chunk.voiceClones, ...chunk.redriven.map((r) => r.job)],
      caller.log,
    );
    if (chunk.scanned < REDRIVE_CHUNK || !chunk.lastId) break;
    afterId = chunk.lastId;
  }
  caller.log.info({ redriven: ids.length }, 'dead letters redriven');
  return { redriven: ids.length, ids, clone_ids: cloneIds };
}
