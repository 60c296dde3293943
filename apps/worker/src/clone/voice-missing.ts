import {
  appendCloneJobEvent,
  type CloneJob,
  countVoiceMissing,
  restartVoiceClone,
  transitionCloneJob,
} from '@voxline/db';
import { enqueue, PRIORITY, submitJob } from '@voxline/queue';
import type { RunningHubError } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { recordFailure } from './outcomes.js';

// A line sent back because upstream did not know its voice spends no attempt, so this bounds
// the loop instead: a voice that upstream forgets again right after each re-clone (or a
// misconfigured RUNNINGHUB_VOICE_MISSING_CODES) fails the line rather than cycling forever.
const MAX_VOICE_MISSING_PER_RUN = 3;

export type VoiceMissingOutcome = 'requeued' | 'failed' | 'gone';

/**
 * A speech line whose submit or task says upstream has no voice `upstreamVoiceId`: MiniMax
 * deleted it (unused for 7 days) or the simulator forgot it. In one transaction the voice is
 * cloned again, by a compare-and-set on the id this line used (of the many lines that hit one
 * deletion, exactly the first one re-clones; see restartVoiceClone), and the line goes back to
 * `queued` without spending an attempt. After commit the new clone task's submit is queued;
 * the caller queues the line's submit again, which then waits for the voice like any line.
 *
 * `upstreamVoiceId` is undefined when the poll job does not know what the task was sent with
 * (it was rebuilt by the reconciler): the line is then queued again without a re-clone, and its
 * next submit, with the voice's current id, tells.
 */
export async function requeueForMissingVoice(
  ctx: WorkerContext,
  job: CloneJob & { voiceId: string },
  params: {
    from: 'submitting' | 'running';
    upstreamVoiceId: string | undefined;
    error: RunningHubError;
    source: { queue: string; jobId: string; attempts: number };
  },
): Promise<VoiceMissingOutcome> {
  const { from, upstreamVoiceId, error } = params;
  if (
    (await countVoiceMissing(ctx.db, { cloneJobId: job.id, run: job.run })) >=
    MAX_VOICE_MISSING_PER_RUN
  ) {
    const recorded = await recordFailure(
      ctx,
      job,
      [from],
      {
        code: error.code ?? 'VOICE_MISSING',
        message: `upstream does not know voice ${job.voiceId} (${MAX_VOICE_MISSING_PER_RUN + 1} times in this run): ${error.message}`,
        lastResponse: error.raw,
      },
      params.source,
    );
    return recorded ? 'failed' : 'gone';
  }
  const outcome = await ctx.db.transaction(async (tx) => {
    const reclone = upstreamVoiceId
      ? await restartVoiceClone(tx, {
          tenantId: job.tenantId,
          voiceId: job.voiceId,
          from: 'ready',
          missingUpstreamVoiceId: upstreamVoiceId,
          reason: 'upstream_voice_missing',
          priority: PRIORITY.interactive,
          estimatedCost: ctx.prices.voiceClonePerCall,
        })
      : null;
    const queued = await transitionCloneJob(tx, {
      tenantId: job.tenantId,
      id: job.id,
      from: [from],
      to: 'queued',
      set: { upstreamTaskId: null, submittedAt: null, errorCode: null, errorMessage: null },
      detail: { voiceMissing: upstreamVoiceId ?? null, code: error.code },
    });
    if (queued) {
      await appendCloneJobEvent(tx, {
        tenantId: job.tenantId,
        cloneJobId: job.id,
        kind: 'voice_missing',
        detail: {
          run: job.run,
          upstreamVoiceId: upstreamVoiceId ?? null,
          recloneJobId: reclone?.job.id ?? null,
        },
      });
    }
    return { queued, reclone };
  });
  if (outcome.reclone) {
    ctx.logger.info(
      { voiceId: job.voiceId, missing: upstreamVoiceId, cloneJobId: outcome.reclone.job.id },
      'upstream forgot a voice: cloning it again',
    );
    await enqueue(ctx.queues, 'cloneSubmit', [submitJob(outcome.reclone.job)]);
  }
  return outcome.queued ? 'requeued' : 'gone';
}
