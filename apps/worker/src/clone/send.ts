import type { CloneJob } from '@voxline/db';
import {
  encodeUpstreamVoiceId,
  type RunningHubClient,
  type TaskResponse,
} from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { isSpeechJob, isVoiceCloneJob, isVoiceOfTask } from './task-kinds.js';

/**
 * The submit call of a job in `submitting`, by kind, for its attempt number `attempt`. A speech
 * line is sent with the voice_id its voice resolved to. A voice clone's custom_voice_id is
 * suffixed per job and attempt: always for a voxline voice (its base is the voice's, and every
 * clone of it must register a new id upstream), for a one-off clone line when UNIQUE_VOICE_IDS.
 * With `webhookUrl`, upstream calls back there when the task ends. `client` is the line's
 * account's.
 */
export function sendTask(
  client: RunningHubClient,
  ctx: WorkerContext,
  job: CloneJob,
  attempt: number,
  voiceId: string | null,
  webhookUrl: string | undefined,
): Promise<TaskResponse> {
  const options = webhookUrl ? { webhookUrl } : {};
  if (isSpeechJob(job)) {
    if (!voiceId) throw new Error(`speech line ${job.id} reached submit without a voice`);
    const { system_voice: _system, ...request } = job.request;
    return client.submitSpeech({ ...request, voice_id: voiceId }, options);
  }
  if (!isVoiceCloneJob(job)) throw new Error(`job ${job.id} has an unknown kind ${job.kind}`);
  const { request } = job;
  const unique = isVoiceOfTask(job) || ctx.config.UNIQUE_VOICE_IDS;
  return client.submitVoiceClone(
    unique
      ? {
          ...request,
          custom_voice_id: encodeUpstreamVoiceId(request.custom_voice_id, job.id, attempt),
        }
      : request,
    options,
  );
}
