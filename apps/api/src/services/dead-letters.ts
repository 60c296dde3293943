import { deadLetterResource, UUID_PATTERN } from '@voxline/contract';
import { listDeadLetters, redriveDeadLetters } from '@voxline/db';
import type { AppContext } from '../context.js';
import type { Caller } from './clones.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { enqueueSubmits } from './enqueue.js';

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
    const chunk = await redriveDeadLetters(ctx.db, {
      tenantId: caller.tenantId,
      ...(selection.ids ? { ids: selection.ids } : {}),
      ...(selection.batch_id ? { batchId: selection.batch_id } : {}),
      ...(selection.error_code ? { errorCode: selection.error_code } : {}),
      ...(afterId ? { afterId } : {}),
      limit: REDRIVE_CHUNK,
    });
    for (const { deadLetterId, job } of chunk.redriven) {
      ids.push(deadLetterId);
      cloneIds.push(job.id);
    }
    await enqueueSubmits(
      ctx.queues,
      chunk.redriven.map((r) => r.job),
      caller.log,
    );
    if (chunk.scanned < REDRIVE_CHUNK || !chunk.lastId) break;
    afterId = chunk.lastId;
  }
  caller.log.info({ redriven: ids.length }, 'dead letters redriven');
  return { redriven: ids.length, ids, clone_ids: cloneIds };
}
