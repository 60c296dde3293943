import { and, asc, eq, getTableColumns, gt, lt, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { cloneJobEvents } from '../schema/clone-job-events.js';
import { type CloneJob, cloneJobs, type NewCloneJob } from '../schema/clone-jobs.js';
import { activeStatusSql } from '../schema/enums.js';
import {
  recordCloneJobsCreated,
  type TransitionManyParams,
  transitionCloneJobs,
} from './transitions.js';

/**
 * Inserts jobs with their creation events. Each column is sent as one array and expanded by
 * `unnest`, so 10,000 lines are two statements with a few parameters each instead of 120,000
 * bound values (whose query building dominated the time). The columns are the table's own, so
 * a column added to the schema is written like the others, never silently dropped.
 */
export async function insertCloneJobs(db: Executor, rows: NewCloneJob[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.entries(getTableColumns(cloneJobs)).filter(([key]) =>
    rows.some((row) => row[key as keyof NewCloneJob] !== undefined),
  );
  const arrays = columns.map(([key, column]) => {
    const values = rows.map((row, i) => {
      const value = row[key as keyof NewCloneJob];
      // unnest has no DEFAULT per element: a column is given for every row or for none.
      if (value === undefined) throw new Error(`clone job row ${i} leaves ${key} unset`);
      return value === null ? null : column.mapToDriverValue(value);
    });
    return sql`${sql.param(values)}::${sql.raw(column.getSQLType())}[]`;
  });
  const names = sql.join(
    columns.map(([, column]) => sql.identifier(column.name)),
    sql`, `,
  );
  await db.execute(sql`
    insert into ${cloneJobs} (${names})
    select * from unnest(${sql.join(arrays, sql`, `)})`);
  await recordCloneJobsCreated(
    db,
    rows.map((row) => row.id),
  );
}

export async function getCloneJob(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<CloneJob | null> {
  const [row] = await db
    .select()
    .from(cloneJobs)
    .where(and(eq(cloneJobs.id, params.id), eq(cloneJobs.tenantId, params.tenantId)));
  return row ?? null;
}

export async function findCloneJobByIdempotencyKey(
  db: Executor,
  params: { tenantId: string; idempotencyKey: string },
): Promise<CloneJob | null> {
  const [row] = await db
    .select()
    .from(cloneJobs)
    .where(
      and(
        eq(cloneJobs.tenantId, params.tenantId),
        eq(cloneJobs.idempotencyKey, params.idempotencyKey),
      ),
    );
  return row ?? null;
}

export interface TransitionParams extends Omit<TransitionManyParams, 'target' | 'detailById'> {
  id: string;
}

/** `transitionCloneJobs` for one job: the updated row, or null when the job was elsewhere. */
export async function transitionCloneJob(
  db: Executor,
  params: TransitionParams,
): Promise<CloneJob | null> {
  const { id, ...rest } = params;
  const [row] = await transitionCloneJobs(db, { ...rest, target: { ids: [id] } });
  return row ?? null;
}

/**
 * Records a fact about a job that is not a status change (a retry, an ambiguous submit).
 * Written through the tenant's job (events have no tenant column): another's id writes nothing.
 */
export async function appendCloneJobEvent(
  db: Executor,
  params: { tenantId: string; cloneJobId: string; kind: string; detail?: Record<string, unknown> },
): Promise<void> {
  const detail = params.detail ? JSON.stringify(params.detail) : null;
  await db.execute(sql`
    insert into ${cloneJobEvents} (clone_job_id, kind, detail)
    select ${cloneJobs.id}, ${params.kind}, ${detail}::jsonb from ${cloneJobs}
     where ${cloneJobs.id} = ${params.cloneJobId} and ${cloneJobs.tenantId} = ${params.tenantId}`);
}

export async function listCloneJobEvents(
  db: Executor,
  params: { tenantId: string; cloneJobId: string },
) {
  const rows = await db
    .select({ event: cloneJobEvents })
    .from(cloneJobEvents)
    .innerJoin(cloneJobs, eq(cloneJobs.id, cloneJobEvents.cloneJobId))
    .where(
      and(
        eq(cloneJobEvents.cloneJobId, params.cloneJobId),
        eq(cloneJobs.tenantId, params.tenantId),
      ),
    )
    .orderBy(cloneJobEvents.id);
  return rows.map((r) => r.event);
}

/**
 * Active jobs not updated since `before`, in id order after `afterId` (keyset pagination):
 * the reconciler walks them all, every tenant's, to find jobs whose BullMQ entry was lost.
 */
export async function listStaleActiveCloneJobs(
  db: Executor,
  params: { before: Date; afterId: string; limit: number },
): Promise<CloneJob[]> {
  return db
    .select()
    .from(cloneJobs)
    .where(
      and(
        activeStatusSql(cloneJobs.status),
        lt(cloneJobs.updatedAt, params.before),
        gt(cloneJobs.id, params.afterId),
      ),
    )
    .orderBy(asc(cloneJobs.id))
    .limit(params.limit);
}

/** What the callback route needs of the line a callback token belongs to. */
export type CallbackTarget = Pick<
  CloneJob,
  'id' | 'tenantId' | 'run' | 'status' | 'kind' | 'request' | 'upstreamTaskId'
>;

/**
 * The line whose current submission carries the callback token with this SHA-256 (hex), any
 * tenant's: the token is the callback's only credential. A submission replaces the previous
 * token, so an older one finds nothing.
 */
export async function findCloneJobByCallbackToken(
  db: Executor,
  params: { tokenHash: string },
): Promise<CallbackTarget | null> {
  const [row] = await db
    .select({
      id: cloneJobs.id,
      tenantId: cloneJobs.tenantId,
      run: cloneJobs.run,
      status: cloneJobs.status,
      kind: cloneJobs.kind,
      request: cloneJobs.request,
      upstreamTaskId: cloneJobs.upstreamTaskId,
    })
    .from(cloneJobs)
    .where(eq(cloneJobs.callbackTokenHash, params.tokenHash));
  return row ?? null;
}

/**
 * Appends the job's `callback_received` event for an upstream task unless one is already there:
 * RunningHub re-sends a callback when the receiver was slow, and the history keeps one per
 * task. Serialised per job by an advisory lock, so two deliveries at once still write one.
 * Returns whether this call wrote it.
 */
export async function recordCallbackReceived(
  db: Executor,
  params: {
    tenantId: string;
    cloneJobId: string;
    taskId: string;
    detail?: Record<string, unknown>;
  },
): Promise<boolean> {
  const detail = JSON.stringify({ ...params.detail, task_id: params.taskId });
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`callback:${params.cloneJobId}`}, 0))`,
    );
    const inserted = await tx.execute<{ id: number }>(sql`
      insert into ${cloneJobEvents} (clone_job_id, kind, detail)
      select ${cloneJobs.id}, 'callback_received', ${detail}::jsonb from ${cloneJobs}
       where ${cloneJobs.id} = ${params.cloneJobId} and ${cloneJobs.tenantId} = ${params.tenantId}
         and not exists (
           select 1 from ${cloneJobEvents}
            where ${cloneJobEvents.cloneJobId} = ${params.cloneJobId}
              and ${cloneJobEvents.kind} = 'callback_received'
              and ${cloneJobEvents.detail} ->> 'task_id' = ${params.taskId})
      returning id`);
    return inserted.rows.length > 0;
  });
}
