import { and, eq, getTableColumns, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Database, Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { type CloneJob, cloneJobs } from '../schema/clone-jobs.js';
import { getAudioResult, type SucceededTask } from './results.js';

/** What the worker does to a result between upstream's SUCCESS and voxline's own copy of it. */

/**
 * Stores a succeeded task's result (upstream link, usage) for a job still `running`, and what
 * upstream says it cost. An unarchived row of an earlier task of the job (its link died before
 * it was stored, and the line was submitted again) is replaced; an archived one is kept, and
 * returned. Null, writing nothing, for a job that is not the tenant's.
 */
export async function storeTaskResult(
  db: Executor,
  params: {
    tenantId: string;
    cloneJobId: string;
    task: SucceededTask;
    urlExpiresAt: Date;
    actualCost: number | null;
  },
): Promise<AudioResult | null> {
  const { task } = params;
  const [job] = await db
    .update(cloneJobs)
    .set({ actualCost: params.actualCost, updatedAt: sql`now()` })
    .where(
      and(
        eq(cloneJobs.id, params.cloneJobId),
        eq(cloneJobs.tenantId, params.tenantId),
        eq(cloneJobs.status, 'running'),
      ),
    )
    .returning({ id: cloneJobs.id });
  if (!job) return null;
  const row = {
    cloneJobId: params.cloneJobId,
    url: task.audio.url,
    outputType: task.audio.type,
    upstreamTaskId: task.taskId,
    usage: task.usage,
    urlExpiresAt: params.urlExpiresAt,
    raw: task.raw as object,
  };
  const { cloneJobId: _key, ...replacement } = row;
  const [stored] = await db
    .insert(audioResults)
    .values(row)
    .onConflictDoUpdate({
      target: audioResults.cloneJobId,
      set: replacement,
      setWhere: isNull(audioResults.archivedAt),
    })
    .returning();
  return stored ?? getAudioResult(db, params);
}

/** What was read from the stored file (ArchivedAudio of @voxline/audio-store). */
export interface ArchivedFile {
  key: string;
  sha256: string;
  bytes: number;
  format: string;
  contentType: string;
  durationMs: number;
  sampleRate: number;
  channels: number;
}

/** A job's stored file, to be recorded on its result row (see setArchivedAudios). */
export interface ArchivedFileOf {
  tenantId: string;
  cloneJobId: string;
  file: ArchivedFile;
}

/**
 * Records voxline's copy of each job's result, in one statement whatever the count (the worker
 * records the files of concurrent archive steps together). A job that is not its tenant's is
 * skipped. Returns the rows written.
 */
export async function setArchivedAudios(
  db: Executor,
  files: readonly ArchivedFileOf[],
): Promise<AudioResult[]> {
  if (files.length === 0) return [];
  const column = <T>(pick: (f: ArchivedFileOf) => T) => sql.param(files.map(pick));
  const v = sql.raw('v');
  return db
    .update(audioResults)
    .set({
      storageKey: sql`${v}.key`,
      sha256: sql`${v}.sha256`,
      bytes: sql`${v}.bytes`,
      format: sql`${v}.format`,
      contentType: sql`${v}.content_type`,
      durationMs: sql`${v}.duration_ms`,
      sampleRate: sql`${v}.sample_rate`,
      channels: sql`${v}.channels`,
      archivedAt: sql`now()`,
      purgedAt: null,
    })
    .from(
      sql`unnest(${column((f) => f.cloneJobId)}::uuid[], ${column((f) => f.tenantId)}::uuid[],
                 ${column((f) => f.file.key)}::text[], ${column((f) => f.file.sha256)}::text[],
                 ${column((f) => f.file.bytes)}::bigint[], ${column((f) => f.file.format)}::text[],
                 ${column((f) => f.file.contentType)}::text[],
                 ${column((f) => f.file.durationMs)}::integer[],
                 ${column((f) => f.file.sampleRate)}::integer[],
                 ${column((f) => f.file.channels)}::integer[])
          as v(id, tenant_id, key, sha256, bytes, format, content_type, duration_ms,
               sample_rate, channels)`,
    )
    .where(
      and(
        sql`${audioResults.cloneJobId} = ${v}.id`,
        sql`exists (select 1 from ${cloneJobs} where ${cloneJobs.id} = ${v}.id
                    and ${cloneJobs.tenantId} = ${v}.tenant_id)`,
      ),
    )
    .returning(getTableColumns(audioResults));
}

function prepareCloneJobWithResult(db: Database) {
  return db
    .select({ job: cloneJobs, result: audioResults })
    .from(cloneJobs)
    .leftJoin(audioResults, eq(audioResults.cloneJobId, cloneJobs.id))
    .where(
      and(
        eq(cloneJobs.id, sql.placeholder('id')),
        eq(cloneJobs.tenantId, sql.placeholder('tenantId')),
      ),
    )
    .prepare('clone_job_with_result');
}

// Built once per database handle: drizzle's building of a query over two wide tables was most
// of what the worker allocated per stored file, and Postgres then plans it once per connection.
const cloneJobWithResult = new WeakMap<Database, ReturnType<typeof prepareCloneJobWithResult>>();

/**
 * A job and its result row (null when it has none yet), in one query: what the archive step
 * starts from. Null when the job is not the tenant's.
 */
export async function getCloneJobWithResult(
  db: Database,
  params: { tenantId: string; id: string },
): Promise<{ job: CloneJob; result: AudioResult | null } | null> {
  let query = cloneJobWithResult.get(db);
  if (!query) {
    query = prepareCloneJobWithResult(db);
    cloneJobWithResult.set(db, query);
  }
  const [row] = await query.execute(params);
  return row ?? null;
}

/**
 * A job's result that was paid for but never stored, whose upstream link should still work at
 * `now`: a redriven ARCHIVE_FAILED line goes back to the archive step with it instead of
 * submitting (and paying) again.
 */
export async function findArchivableResult(
  db: Executor,
  params: { tenantId: string; cloneJobId: string; now: Date },
): Promise<AudioResult | null> {
  const row = await getAudioResult(db, params);
  if (!row || row.archivedAt || !row.urlExpiresAt) return null;
  return row.urlExpiresAt > params.now ? row : null;
}

/**
 * Stored files archived before `archivedBefore` and not yet purged, oldest first: one key may
 * be shared by several rows (reused audio), and is listed once.
 */
export async function listExpiredStorageKeys(
  db: Executor,
  params: { archivedBefore: Date; limit: number },
): Promise<string[]> {
  const rows = await db
    .select({ key: audioResults.storageKey, first: sql<Date>`min(${audioResults.archivedAt})` })
    .from(audioResults)
    .where(
      and(
        isNotNull(audioResults.storageKey),
        isNull(audioResults.purgedAt),
        lt(audioResults.archivedAt, params.archivedBefore),
      ),
    )
    .groupBy(audioResults.storageKey)
    .orderBy(sql`2`)
    .limit(params.limit);
  return rows.flatMap((r) => (r.key ? [r.key] : []));
}

/** Marks every row holding one of `keys` as purged (its file was deleted); returns how many. */
export async function markAudioPurged(
  db: Executor,
  params: { storageKeys: readonly string[] },
): Promise<number> {
  if (params.storageKeys.length === 0) return 0;
  const rows = await db
    .update(audioResults)
    .set({ purgedAt: sql`now()` })
    .where(
      and(inArray(audioResults.storageKey, [...params.storageKeys]), isNull(audioResults.purgedAt)),
    )
    .returning({ id: audioResults.cloneJobId });
  return rows.length;
}
