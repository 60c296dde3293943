import type { TaskResponse } from '@voxline/runninghub';
import { eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';

/** Stores a job's audio; returns the stored row (the earlier one if a re-run stored it first). */
export async function insertAudioResult(
  db: Executor,
  row: typeof audioResults.$inferInsert,
): Promise<AudioResult | null> {
  // A job finishes once (conditional transition), but a re-run of the same step must not fail.
  const [inserted] = await db.insert(audioResults).values(row).onConflictDoNothing().returning();
  return inserted ?? getAudioResult(db, { cloneJobId: row.cloneJobId });
}

/** A task the client saw succeed with an audio URL. */
export type SucceededTask = Pick<TaskResponse, 'taskId' | 'usage' | 'raw'> & {
  audio: NonNullable<TaskResponse['audio']>;
};

/** Stores what the client parsed of a succeeded task as the job's audio (see insertAudioResult). */
export async function insertTaskAudio(
  db: Executor,
  params: { cloneJobId: string; task: SucceededTask; urlExpiresAt: Date | null },
): Promise<AudioResult | null> {
  const { task } = params;
  return insertAudioResult(db, {
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
  params: { cloneJobId: string },
): Promise<AudioResult | null> {
  const [row] = await db
    .select()
    .from(audioResults)
    .where(eq(audioResults.cloneJobId, params.cloneJobId));
  return row ?? null;
}
