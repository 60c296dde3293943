import { and, asc, eq, getTableColumns, gt, inArray, lt, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { cloneJobEvents } from '../schema/clone-job-events.js';
import { type CloneJob, cloneJobs, type NewCloneJob } from '../schema/clone-jobs.js';
import { type CloneStatus, cloneStatus } from '../schema/enums.js';

export async function insertCloneJobs(db: Executor, rows: NewCloneJob[]): Promise<void> {
  if (rows.length === 0) return;
  // One multi-row INSERT per chunk: Postgres caps a statement at 65,535 bind parameters.
  const chunk = 2_000;
  for (let i = 0; i < rows.length; i += chunk) {
    const slice = rows.slice(i, i + chunk);
    await db.insert(cloneJobs).values(slice);
    await db.insert(cloneJobEvents).values(
      slice.map((row) => ({
        cloneJobId: row.id,
        kind: 'transition',
        fromStatus: null,
        toStatus: 'queued' as const,
      })),
    );
  }
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

export interface TransitionParams {
  tenantId: string;
  id: string;
  from: readonly CloneStatus[];
  to: CloneStatus;
  set?: Partial<
    Pick<
      CloneJob,
      | 'attempts'
      | 'run'
      | 'upstreamTaskId'
      | 'submittedAt'
      | 'errorCode'
      | 'errorMessage'
      | 'completedAt'
    >
  >;
  /** Stored on the transition's event row. */
  detail?: Record<string, unknown>;
}

/**
 * Moves a job from one of `from` to `to`, only if it is still in one of `from`, and appends the
 * transition to the event log atomically. Returns the updated row, or null when the job was
 * elsewhere (a late or duplicate worker, a cancel that won the race): the caller must then do
 * nothing further.
 *
 * One statement, so one round trip (every line makes three or more of these): `locked` takes
 * the row lock and reads the status being left (a concurrent transition makes it wait, then
 * re-check `from` against the committed row, so two racing workers cannot both move a job); the
 * event is written from `locked`, and the update applies exactly when `locked` holds the row.
 */
export async function transitionCloneJob(
  db: Executor,
  params: TransitionParams,
): Promise<CloneJob | null> {
  const terminal = params.to === 'succeeded' || params.to === 'failed' || params.to === 'canceled';
  const locked = db.$with('locked').as(
    db
      .select({ id: cloneJobs.id, status: cloneJobs.status })
      .from(cloneJobs)
      .where(
        and(
          eq(cloneJobs.id, params.id),
          eq(cloneJobs.tenantId, params.tenantId),
          inArray(cloneJobs.status, [...params.from]),
        ),
      )
      .for('update'),
  );
  const detail = params.detail ? JSON.stringify(params.detail) : null;
  const event = db.$with('event', { id: sql<number>`id` }).as(
    sql`insert into ${cloneJobEvents} (clone_job_id, kind, from_status, to_status, detail)
        select id, 'transition', status, ${params.to}::${sql.identifier(cloneStatus.enumName)},
               ${detail}::jsonb
        from ${locked} returning id`,
  );
  const [row] = await db
    .with(locked, event)
    .update(cloneJobs)
    .set({
      ...params.set,
      status: params.to,
      updatedAt: sql`now()`,
      ...(terminal && !params.set?.completedAt ? { completedAt: sql`now()` } : {}),
    })
    .from(locked)
    .where(eq(cloneJobs.id, locked.id))
    .returning(getTableColumns(cloneJobs));
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
        inArray(cloneJobs.status, ['queued', 'submitting', 'running']),
        lt(cloneJobs.updatedAt, params.before),
        gt(cloneJobs.id, params.afterId),
      ),
    )
    .orderBy(asc(cloneJobs.id))
    .limit(params.limit);
}
