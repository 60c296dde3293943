import { type Classification, normaliseCode } from './classify.js';

/**
 * The code of a speech call naming a voice upstream does not have. Not documented by
 * RunningHub (contract, "Speak with a voice"); 2054 is MiniMax's. Configurable
 * (RUNNINGHUB_VOICE_MISSING_CODES) because the real one may differ.
 */
export const DEFAULT_VOICE_MISSING_CODES: readonly string[] = ['2054'];

// MiniMax's wording, "voice id not exist", and the spellings a wrapper may give it.
const VOICE_MISSING_MESSAGE = /voice[ _-]?id (does )?not exist/i;

/** Whether an upstream failure means "no such voice": by a listed code, or by its message. */
export function isVoiceMissing(
  code: string | number | null | undefined,
  message: string,
  codes: readonly string[],
): boolean {
  const normalised = normaliseCode(code);
  if (normalised !== '' && codes.some((c) => normaliseCode(c) === normalised)) return true;
  return VOICE_MISSING_MESSAGE.test(message);
}

// Asking again with the same voice id cannot help; the caller clones the voice again.
export const VOICE_MISSING_CLASSIFICATION: Classification = {
  kind: 'fatal',
  reason: 'voice not found upstream',
  retryAfterMs: null,
  alertOperator: false,
};
