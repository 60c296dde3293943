import type { CloneJob, SpeechRequest, VoiceCloneRequest } from '@voxline/db';

/**
 * The row's `kind` says which request it holds; these narrow the type accordingly. The column
 * and the request are written together by the API (and the repos), so they cannot disagree.
 */
export type SpeechJob = CloneJob & { kind: 'speech'; request: SpeechRequest };
export type VoiceCloneJob = CloneJob & { kind: 'voice_clone'; request: VoiceCloneRequest };

export function isSpeechJob(job: CloneJob): job is SpeechJob {
  return job.kind === 'speech';
}

export function isVoiceCloneJob(job: CloneJob): job is VoiceCloneJob {
  return job.kind === 'voice_clone';
}

/** A voice_clone task that clones a voxline voice (not a one-off clone line). */
export function isVoiceOfTask(job: CloneJob): job is VoiceCloneJob & { voiceId: string } {
  return isVoiceCloneJob(job) && job.voiceId !== null;
}
