import { eq } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';

export async function insertAudioResult(
  db: Executor,
  row: typeof audioResults.$inferInsert,
): Promise<void> {
  // A job finishes once (conditional transition), but a re-run of the same step must not fail.
  await db.insert(audioResults).values(row).onConflictDoNothing();
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
