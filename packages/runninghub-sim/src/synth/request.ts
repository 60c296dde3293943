import type { LanguageBoost } from '@voxline/runninghub';

export type AudioFormat = 'wav' | 'mp3';

/**
 * What a line is spoken with: the contract's speech settings, whichever endpoint carried them.
 * voice-clone carries no speed, pitch or volume (they stay at the speech endpoints' defaults);
 * a speech endpoint fills them from its body.
 */
export interface SpeechRequest {
  /** The text without simulator markers. */
  text: string;
  /** What the voice is recognised by: a clone's reference audio, or a speech `voice_id`. */
  voice: string;
  language: LanguageBoost | null;
  /** 0.5..2, 1 is normal pace. */
  speed: number;
  /** Semitones, -12..12. */
  pitch: number;
  /** Gain, 0.1..10. */
  volume: number;
  /** Peak-normalise before the volume is applied (voice-clone's need_volume_normalization). */
  normalize: boolean;
  format: AudioFormat;
}

export const SPEECH_DEFAULTS = { speed: 1, pitch: 0, volume: 1 } as const;

export interface VoiceCloneSpeech {
  audio: string;
  text: string;
  language_boost?: LanguageBoost | undefined;
  need_volume_normalization: boolean;
}

/**
 * A voice-clone task speaks its preview text in the voice cloned from its reference audio:
 * the same reference sounds the same whatever custom_voice_id it is registered under (voxline
 * suffixes the id per attempt), and two references sound different.
 */
export function speechOfVoiceClone(
  params: VoiceCloneSpeech,
  text: string,
  format: AudioFormat,
): SpeechRequest {
  return {
    text,
    voice: params.audio,
    language: params.language_boost ?? null,
    ...SPEECH_DEFAULTS,
    normalize: params.need_volume_normalization,
    format,
  };
}
