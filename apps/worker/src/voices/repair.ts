import { findStuckCloningVoices } from '@voxline/db';
import type { WorkerContext } from '../context.js';
import { announceSettledVoice, voiceCloneFailed, voiceCloneSucceeded } from './clone-outcome.js';

const PAGE = 100;

/**
 * Voices still `cloning` whose clone task is terminal: the task's outcome and the voice's are
 * written in one transaction, so this is a task that ended some other way (a cancel) or a
 * state written by an older release. The voice takes the task's outcome, and its waiting lines
 * are woken. Returns how many voices were settled.
 */
export async function repairStuckVoices(ctx: WorkerContext): Promise<number> {
  let repaired = 0;
  for (const { voice, job } of await findStuckCloningVoices(ctx.db, { limit: PAGE })) {
    const settled = await ctx.db.transaction((tx) =>
      job.status === 'succeeded'
        ? voiceCloneSucceeded(tx, ctx, job)
        : voiceCloneFailed(tx, ctx, job, {
            code: job.errorCode ?? (job.status === 'canceled' ? 'CLONE_CANCELED' : 'CLONE_FAILED'),
            message: job.errorMessage ?? `the clone task ${job.id} ended ${job.status}`,
          }),
    );
    if (!settled) continue;
    ctx.logger.warn({ voiceId: voice.id, cloneJobId: job.id }, 'reconciler: settled a stuck voice');
    await announceSettledVoice(ctx, settled);
    repaired += 1;
  }
  return repaired;
}
