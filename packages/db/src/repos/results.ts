import type { TaskResponse } from '@voxline/runninghub';
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { cloneJobs } from '../schema/clone-jobs.js';

/**
 * Stores the audio of one of the tenant's jobs; returns the stored row (the earlier one if a
 * re-run stored it first), or null, storing nothing, for a job that is not the tenant's.
 */
export async function insertAudioResult(
  db: Executor,
  params: typeof audioResults.$inferInsert & { tenantId: string },
): Promise<AudioResult | null> {
  const { tenantId, ...row } = params;
  // audio_results has no tenant column: the job's row says whose it is.
  const [owned] = await db
    .select({ id: cloneJobs.id })
    .from(cloneJobs)
    .where(and(eq(cloneJobs.id, row.cloneJobId), eq(cloneJobs.tenantId, tenantId)));
  if (!owned) return null;
  // A job finishes once (conditional transition), but a re-run of the same step must not fail.
  const [inserted] = await db.insert(audioResults).values(row).onConflictDoNothing().returning();
  return inserted ?? getAudioResult(db, { tenantId, cloneJobId: row.cloneJobId });
}

/** A task the client saw succeed with an audio URL. */
export type SucceededTask = Pick<TaskResponse, 'taskId' | 'usage' | 'raw'> & {
  audio: NonNullable<TaskResponse['audio']>;
};

/** Stores what the client parsed of a succeeded task as the job's audio (see insertAudioResult). */
export async function insertTaskAudio(
  db: Executor,
  params: { tenantId: string; cloneJobId: string; task: SucceededTask; urlExpiresAt: Date | null },
): Promise<AudioResult | null> {
  const { task } = params;
  return insertAudioResult(db, {
    tenantId: params.tenantId,
    cloneJobId: params.cloneJobId,
    url: task.audio.url,
    outputType: task.audio.type,
    upstreamTaskId: task.taskId,
    usage: task.usage,
    urlExpiresAt: params.urlExpiresAt,
    raw: task.raw as object,
  });
}

export async function getAudioResult(
  db: Executor,
  params: { tenantId: string; cloneJobId: string },
): Promise<AudioResult | null> {
  const [row] = await db
    .select({ audio: audioResults })
    .from(audioResults)
    .innerJoin(cloneJobs, eq(cloneJobs.id, audioResults.cloneJobId))
    .where(
      and(eq(audioResults.cloneJobId, params.cloneJobId), eq(cloneJobs.tenantId, params.tenantId)),
    );
  return row?.audio ?? null;
}
