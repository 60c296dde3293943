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
