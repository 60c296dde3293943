import type { CloneJob } from '@voxline/db';
import type { ParsedPayloadOf } from '@voxline/queue';
import type { RunningHubClient } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import type { StepOutcome } from '../step-outcome.js';
import { uploadReference } from './reference-upload.js';
import { resolveSpeechVoice } from './speech-voice.js';
import { isSpeechJob, isVoiceOfTask } from './task-kinds.js';

/**
 * A queued job ready to be submitted once it has a slot, or what to do instead. `voiceId` is the
 * `voice_id` a speech line is sent with (its voice's upstream id, or a system voice), with
 * `voxlineVoice` true for the former; null for a voice clone.
 */
export type Prepared =
  | { kind: 'ready'; job: CloneJob; voiceId: string | null; voxlineVoice: boolean }
  | { kind: 'outcome'; outcome: StepOutcome };

/**
 * What a task needs before it may take an upstream slot: a speech line its voice (a line whose
 * voice is still cloning waits here, holding no slot), the clone of an uploaded reference the
 * reference's upstream URL (uploaded with `client`, the account the clone runs on). Neither
 * creates a task upstream, so neither holds a slot.
 */
export async function prepareSubmission(
  ctx: WorkerContext,
  job: CloneJob,
  bullJobId: string,
  data: ParsedPayloadOf<'cloneSubmit'>,
  client: RunningHubClient,
): Promise<Prepared> {
  if (isSpeechJob(job)) return resolveSpeechVoice(ctx, job, bullJobId);
  if (isVoiceOfTask(job) && job.request.audio === '')
    return uploadReference(ctx, client, job, data, bullJobId);
  return { kind: 'ready', job, voiceId: null, voxlineVoice: false };
}
