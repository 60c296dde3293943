import { listExpiredStorageKeys, markAudioPurged } from '@voxline/db';
import type { WorkerContext } from './context.js';

const DAY_MS = 86_400_000;
// Keys per round: one query to find them, one delete each, one update to mark them.
const PAGE = 500;

/**
 * AUDIO_RETENTION_DAYS: deletes stored files archived longer ago and marks their rows purged
 * (the API then answers 410 for them). A file is deleted before its rows are marked: a crash
 * in between leaves rows that a later run deletes again (a delete of nothing is no error), never
 * a row that says purged over a file still stored. Returns how many files went.
 */
export async function purgeExpiredAudio(ctx: WorkerContext): Promise<number> {
  const days = ctx.config.AUDIO_RETENTION_DAYS;
  if (days === undefined) return 0;
  const archivedBefore = new Date(Date.now() - days * DAY_MS);
  let purged = 0;
  for (;;) {
    const keys = await listExpiredStorageKeys(ctx.db, { archivedBefore, limit: PAGE });
    for (const key of keys) await ctx.audio.store.delete(key);
    await markAudioPurged(ctx.db, { storageKeys: keys });
    purged += keys.length;
    ctx.metrics.audioPurged.inc(keys.length);
    if (keys.length < PAGE) return purged;
  }
}
