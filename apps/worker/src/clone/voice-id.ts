/**
 * The custom_voice_id sent upstream for one submission: the user's id, a dash, then the job id's
 * first 8 hex digits and the attempt number. Unique per job and attempt (an ambiguous resubmit
 * must not collide with the voice its lost twin may have registered), and still valid by the
 * contract's rule: at most 256 characters, ending in a letter or digit, containing a digit.
 */
export function upstreamVoiceId(base: string, jobId: string, attempt: number): string {
  const suffix = `-${jobId.replaceAll('-', '').slice(-8)}${attempt}`;
  return `${base.slice(0, 256 - suffix.length)}${suffix}`;
}
