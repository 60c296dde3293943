import { getVoiceForTask, type Voice } from '@voxline/db';
import { catalog } from '@voxline/queue';
import type { WorkerContext } from '../context.js';
import { jitter } from '../step.js';
import { done, fail, park } from '../step-outcome.js';
import { recordFailure } from './outcomes.js';
import type { Prepared } from './prepare.js';
import type { SpeechJob } from './task-kinds.js';

/**
 * The voice a queued speech line is sent with. A system voice is its name. A voxline voice:
 * `ready` gives its upstream id; `cloning` parks the line (no slot) as a waiter of the voice,
 * woken when its clone ends; `failed` fails the line with the voice's code (a dead letter, to
 * be redriven once the voice is cloned again); deleted fails it `VOICE_DELETED`.
 */
export async function resolveSpeechVoice(
  ctx: WorkerContext,
  job: SpeechJob,
  bullJobId: string,
): Promise<Prepared> {
  if (!job.voiceId) {
    const system = job.request.system_voice;
    if (system) return { kind: 'ready', job, voiceId: system, voxlineVoice: false };
    return failLine(ctx, job, bullJobId, 'INVALID_REQUEST', 'the line names no voice');
  }
  const voice = await getVoiceForTask(ctx.db, { tenantId: job.tenantId, id: job.voiceId });
  if (!voice || voice.deletedAt) {
    return failLine(ctx, job, bullJobId, 'VOICE_DELETED', `voice ${job.voiceId} was deleted`);
  }
  if (voice.status === 'ready' && voice.upstreamVoiceId) {
    return { kind: 'ready', job, voiceId: voice.upstreamVoiceId, voxlineVoice: true };
  }
  if (voice.status === 'failed') {
    return failLine(
      ctx,
      job,
      bullJobId,
      voice.errorCode ?? 'VOICE_FAILED',
      `voice ${voice.id} failed to clone${voice.errorMessage ? `: ${voice.errorMessage}` : ''}`,
    );
  }
  return { kind: 'outcome', outcome: waitForVoice(ctx, voice, bullJobId) };
}

/**
 * Parks the line until its voice's clone ends. It registers as a waiter only once parked (only
 * a delayed job can be promoted), then looks at the voice again: a clone that ended between the
 * first look and the registration woke nobody for this line, so it wakes the voice's waiters
 * itself. The park delay is only the safety net for a lost wake-up.
 */
function waitForVoice(ctx: WorkerContext, voice: Voice, bullJobId: string) {
  return park(jitter(ctx.config.VOICE_WAIT_PARK_MS), async () => {
    try {
      await ctx.voiceWaiters.add(voice.id, bullJobId);
      const now = await getVoiceForTask(ctx.db, { tenantId: voice.tenantId, id: voice.id });
      if (now?.status !== 'cloning' || now.cloneJobId !== voice.cloneJobId) {
        await ctx.voiceWaiters.wakeAll(voice.id);
      }
    } catch (error) {
      // Parked but maybe not registered (Redis or Postgres went away): the safety delay wakes it.
      ctx.logger.warn({ err: error, voiceId: voice.id, bullJobId }, 'could not wait for the voice');
    }
  });
}

async function failLine(
  ctx: WorkerContext,
  job: SpeechJob,
  bullJobId: string,
  code: string,
  message: string,
): Promise<Prepared> {
  const recorded = await recordFailure(
    ctx,
    job,
    ['queued'],
    { code, message },
    { queue: catalog.cloneSubmit.queue, jobId: bullJobId, attempts: job.attempts },
  );
  return { kind: 'outcome', outcome: recorded ? fail(code, message) : done };
}
