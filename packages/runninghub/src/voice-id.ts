import { CUSTOM_VOICE_ID_MAX_LENGTH } from './params.js';

const JOB_KEY_LENGTH = 8;
const SUFFIX = new RegExp(`-([0-9a-f]{${JOB_KEY_LENGTH}})(\\d+)$`);

/**
 * The custom_voice_id sent upstream for one submission: the user's id, a dash, then the job id's
 * last 8 hex digits (the random tail of a UUIDv7: its first digits are a timestamp, shared by a
 * batch's lines) and the attempt number. Unique per job and attempt (an ambiguous resubmit must
 * not collide with the voice its lost twin may have registered), and still valid by the
 * contract's rule: at most 256 characters, ending in a letter or digit, containing a digit.
 */
export function encodeUpstreamVoiceId(base: string, jobId: string, attempt: number): string {
  const suffix = `-${upstreamJobKey(jobId)}${attempt}`;
  return `${base.slice(0, CUSTOM_VOICE_ID_MAX_LENGTH - suffix.length)}${suffix}`;
}

/** The part of an upstream voice id that names the job (see encodeUpstreamVoiceId). */
export function upstreamJobKey(jobId: string): string {
  return jobId.replaceAll('-', '').slice(-JOB_KEY_LENGTH);
}

/** The job key and attempt an encoded voice id carries, or null for an id voxline did not suffix. */
export function decodeUpstreamVoiceId(
  voiceId: string,
): { base: string; jobKey: string; attempt: number } | null {
  const match = SUFFIX.exec(voiceId);
  if (!match?.[1] || !match[2]) return null;
  return {
    base: voiceId.slice(0, match.index),
    jobKey: match[1],
    attempt: Number(match[2]),
  };
}
