import { and, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { cloneJobs } from '../schema/clone-jobs.js';
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

/** Records voxline's copy of a job's result; null when the job is not the tenant's. */
export async function setArchivedAudio(
  db: Executor,
  params: { tenantId: string; cloneJobId: string; file: ArchivedFile },
): Promise<AudioResult | null> {
  const { file } = params;
  const [row] = await db
    .update(audioResults)
    .set({
      storageKey: file.key,
      sha256: file.sha256,
      bytes: file.bytes,
      format: file.format,
      contentType: file.contentType,
      durationMs: file.durationMs,
      sampleRate: file.sampleRate,
      channels: file.channels,
      archivedAt: sql`now()`,
      purgedAt: null,
    })
    .where(
      and(
        eq(audioResults.cloneJobId, params.cloneJobId),
        sql`exists (select 1 from ${cloneJobs} where ${cloneJobs.id} = ${audioResults.cloneJobId}
                    and ${cloneJobs.tenantId} = ${params.tenantId})`,
      ),
    )
    .returning();
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
