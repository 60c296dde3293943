import { and, asc, eq, getTableColumns, inArray, type SQL, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Executor } from '../client.js';
import { cloneJobEvents } from '../schema/clone-job-events.js';
import { type CloneJob, cloneJobs } from '../schema/clone-jobs.js';
import { type CloneStatus, cloneStatus, isTerminalStatus } from '../schema/enums.js';

/** Columns a transition may set besides the status (values or SQL, e.g. `run + 1`). */
export type TransitionSet = Omit<PgUpdateSetSource<typeof cloneJobs>, 'status' | 'updatedAt'>;

export interface TransitionManyParams {
  tenantId: string;
  /** These jobs, or the lines of one batch (in line order, up to `limit`). */
  target: { ids: readonly string[] } | { batchId: string; limit: number };
  from: readonly CloneStatus[];
  to: CloneStatus;
  set?: TransitionSet;
  /** Stored on every transition's event row. */
  detail?: Record<string, unknown>;
  /** Merged into `detail` for the job with that id. */
  detailById?: ReadonlyMap<string, Record<string, unknown>>;
}

/**
 * The one way a clone job changes status: moves the tenant's targeted jobs that are still in
 * one of `from` to `to`, and appends each transition to the event log, atomically. Returns the
 * rows that moved; a job found elsewhere (a late or duplicate worker, a cancel that won the
 * race) is left alone and not returned, and its caller must do nothing further for it.
 *
 * One statement, so one round trip whatever the count (every line makes three or more of
 * these): `locked` takes the row locks, in a fixed order so two set-based transitions cannot
 * deadlock, and reads the statuses being left (a concurrent transition makes it wait, then
 * re-check `from` against the committed row, so two racing workers cannot both move a job);
 * the events are written from `locked`, and the update applies exactly to the rows it holds.
 */
export async function transitionCloneJobs(
  db: Executor,
  params: TransitionManyParams,
): Promise<CloneJob[]> {
  const { target } = params;
  if ('ids' in target && target.ids.length === 0) return [];
  const targeted = db
    .select({ id: cloneJobs.id, status: cloneJobs.status })
    .from(cloneJobs)
    .where(
      and(
        eq(cloneJobs.tenantId, params.tenantId),
        'ids' in target
          ? inArray(cloneJobs.id, [...target.ids])
          : eq(cloneJobs.batchId, target.batchId),
        inArray(cloneJobs.status, [...params.from]),
      ),
    );
  const locked = db
    .$with('locked')
    .as(
      'ids' in target
        ? targeted.orderBy(asc(cloneJobs.id)).for('update')
        : targeted.orderBy(asc(cloneJobs.lineIndex)).limit(target.limit).for('update'),
    );
  const event = db.$with('event', { id: sql<number>`id` }).as(
    sql`insert into ${cloneJobEvents} (clone_job_id, kind, from_status, to_status, detail)
        select id, 'transition', status, ${params.to}::${sql.identifier(cloneStatus.enumName)},
               ${eventDetail(params)}
        from ${locked} returning id`,
  );
  return db
    .with(locked, event)
    .update(cloneJobs)
    .set({
      ...params.set,
      status: params.to,
      updatedAt: sql`now()`,
      ...(isTerminalStatus(params.to) && !params.set?.completedAt
        ? { completedAt: sql`now()` }
        : {}),
    })
    .from(locked)
    .where(eq(cloneJobs.id, locked.id))
    .returning(getTableColumns(cloneJobs));
}

/** The event's detail, evaluated per row of `locked` (whose job id is `id`). */
function eventDetail(params: TransitionManyParams): SQL {
  const shared = params.detail ? JSON.stringify(params.detail) : null;
  if (!params.detailById) return sql`${shared}::jsonb`;
  const byId = JSON.stringify(Object.fromEntries(params.detailById));
  return sql`coalesce(${shared}::jsonb, '{}'::jsonb) || coalesce(${byId}::jsonb -> id::text, '{}'::jsonb)`;
}

/** Writes the creation event (null → queued) of jobs just inserted, in one statement. */
export async function recordCloneJobsCreated(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(sql`
    insert into ${cloneJobEvents} (clone_job_id, kind, from_status, to_status)
    select id, 'transition', null, 'queued'::${sql.identifier(cloneStatus.enumName)}
      from unnest(${sql.param([...ids])}::uuid[]) as t(id)`);
}
