import { type CloneJob, type Executor, markVoiceFailed, markVoiceReady } from '@voxline/db';
import { DEFAULT_ACCOUNT } from '@voxline/queue';
import { encodeUpstreamVoiceId } from '@voxline/runninghub';
import { recordVoiceEvent } from '@voxline/webhooks';
import { isVoiceOfTask } from '../clone/task-kinds.js';
import type { WorkerContext } from '../context.js';
import { admitCommittedDeliveries } from '../deliveries.js';

/** A voice whose clone just ended, to be announced once the transaction committed. */
export interface SettledVoice {
  voiceId: string;
  deliveries: string[];
}

/**
 * Inside the transaction that marked `job` succeeded: if it is a voice's current clone task, the
 * voice is ready under the id this attempt registered upstream (the submit step suffixed it
 * with the job and attempt, see encodeUpstreamVoiceId), with its `voice.ready` event.
 */
export async function voiceCloneSucceeded(
  tx: Executor,
  ctx: WorkerContext,
  job: CloneJob,
): Promise<SettledVoice | null> {
  if (!isVoiceOfTask(job)) return null;
  const voice = await markVoiceReady(tx, {
    tenantId: job.tenantId,
    voiceId: job.voiceId,
    cloneJobId: job.id,
    upstreamVoiceId: encodeUpstreamVoiceId(job.request.custom_voice_id, job.id, job.attempts),
    account: job.upstreamAccount ?? DEFAULT_ACCOUNT,
    ttlMs: ctx.config.VOICE_UPSTREAM_TTL_MS,
  });
  if (!voice) return null;
  return {
    voiceId: voice.id,
    deliveries: await recordVoiceEvent(tx, voice, 'voice.ready', ctx.cloneEvents),
  };
}

/**
 * Inside the transaction that ended `job` failed (or canceled): if it is a voice's current
 * clone task, the voice fails with its code, with its `voice.failed` event; its waiting lines
 * then fail with that code (redrivable once the voice is cloned again).
 */
export async function voiceCloneFailed(
  tx: Executor,
  ctx: WorkerContext,
  job: CloneJob,
  failure: { code: string; message: string },
): Promise<SettledVoice | null> {
  if (!isVoiceOfTask(job)) return null;
  const voice = await markVoiceFailed(tx, {
    tenantId: job.tenantId,
    voiceId: job.voiceId,
    cloneJobId: job.id,
    code: failure.code,
    message: failure.message,
  });
  if (!voice) return null;
  return {
    voiceId: voice.id,
    deliveries: await recordVoiceEvent(tx, voice, 'voice.failed', ctx.cloneEvents),
  };
}

/**
 * After commit: send the voice's event and wake the lines parked on it. A crash before this is
 * covered by the reconciler (deliveries) and by each waiter's safety delay (VOICE_WAIT_PARK_MS).
 */
export async function announceSettledVoice(
  ctx: WorkerContext,
  settled: SettledVoice | null,
): Promise<void> {
  if (!settled) return;
  await admitCommittedDeliveries(ctx, settled.deliveries);
  await ctx.voiceWaiters.wakeAll(settled.voiceId);
}
