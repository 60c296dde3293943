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
    ...timbreOfClone(params),
    ...SPEECH_DEFAULTS,
    normalize: params.need_volume_normalization,
    format,
  };
}

/** How a voice sounds: what its profile is hashed from, and the language it was cloned in. */
export interface Timbre {
  voice: string;
  language: LanguageBoost | null;
}

/** A cloned voice sounds like its reference audio, the one its clone's preview spoke with. */
export function timbreOfClone(params: Pick<VoiceCloneSpeech, 'audio' | 'language_boost'>): Timbre {
  return { voice: params.audio, language: params.language_boost ?? null };
}

/** A system voice sounds like its name: the same on every line, unlike any reference. */
export function timbreOfSystemVoice(name: string): Timbre {
  return { voice: `system:${name}`, language: null };
}

export interface SpeechEndpointSpeech {
  speed?: number | undefined;
  pitch?: number | undefined;
  volume?: number | undefined;
  pronunciation_dict?: string[] | undefined;
}

/**
 * A speech task speaks its line in its voice's timbre, with the body's pace, pitch and gain;
 * `pronunciation_dict` entries ("ASAP/As soon as possible") are spoken as written after the
 * slash. The emotion has no eSpeak counterpart and is not heard.
 */
export function speechOfSpeech(
  params: SpeechEndpointSpeech,
  text: string,
  timbre: Timbre,
  format: AudioFormat,
): SpeechRequest {
  let spoken = text;
  for (const entry of params.pronunciation_dict ?? []) {
    const [from, to] = entry.split('/');
    if (from && to !== undefined) spoken = spoken.replaceAll(from, to);
  }
  return {
    text: spoken,
    voice: timbre.voice,
    language: timbre.language,
    speed: params.speed ?? SPEECH_DEFAULTS.speed,
    pitch: params.pitch ?? SPEECH_DEFAULTS.pitch,
    volume: params.volume ?? SPEECH_DEFAULTS.volume,
    normalize: false,
    format,
  };
}
