import { z } from 'zod';

/** The speech endpoints, one per model (contract, "Speak with a voice"). */
export const SPEECH_MODELS = [
  'speech-02-hd',
  'speech-02-turbo',
  'speech-2.6-hd',
  'speech-2.6-turbo',
  'speech-2.8-hd',
  'speech-2.8-turbo',
] as const;
export type SpeechModel = (typeof SPEECH_MODELS)[number];
export const DEFAULT_SPEECH_MODEL: SpeechModel = 'speech-02-hd';

/** The path of a model's speech endpoint: `speech-02-hd` → `…/text-to-audio/speech-02-hd`. */
export function speechPath(model: SpeechModel): string {
  return `/openapi/v2/rhart-audio/text-to-audio/${model}`;
}

/** MiniMax's system voices: usable as `voice_id` without any clone. */
export const SYSTEM_VOICES = [
  'Wise_Woman',
  'Friendly_Person',
  'Inspirational_girl',
  'Deep_Voice_Man',
  'Calm_Woman',
  'Casual_Guy',
  'Lively_Girl',
  'Patient_Man',
  'Young_Knight',
  'Determined_Man',
  'Lovely_Girl',
  'Decent_Boy',
  'Imposing_Manner',
  'Elegant_Man',
  'Abbess',
  'Sweet_Girl_2',
  'Exuberant_Girl',
] as const;
export type SystemVoice = (typeof SYSTEM_VOICES)[number];

export const EMOTIONS = [
  'happy',
  'sad',
  'angry',
  'fearful',
  'disgusted',
  'surprised',
  'neutral',
] as const;
export type Emotion = (typeof EMOTIONS)[number];

export const PRONUNCIATION_DICT_MAX_ENTRIES = 20;

/** How a line is spoken: every speech field but the text and the voice. */
export interface SpeechSettings {
  speed?: number;
  volume?: number;
  pitch?: number;
  emotion?: Emotion;
  pronunciation_dict?: string[];
  english_normalization?: boolean;
}

/** What the client sends to a speech endpoint; optional fields are left out when undefined. */
export interface SpeechParams extends SpeechSettings {
  model: SpeechModel;
  text: string;
  voice_id: string;
}

/**
 * The contract's rules for each speech setting, without defaults: a setting left out is left
 * out of the upstream body too (upstream applies its own default), and a batch line's setting
 * overrides the batch's one field at a time.
 */
export function speechSettingsShape() {
  return {
    speed: z
      .number({ error: 'speed must be a number' })
      .min(0.5, 'speed must be between 0.5 and 2')
      .max(2, 'speed must be between 0.5 and 2')
      .optional(),
    volume: z
      .number({ error: 'volume must be a number' })
      .min(0.1, 'volume must be between 0.1 and 10')
      .max(10, 'volume must be between 0.1 and 10')
      .optional(),
    pitch: z
      .number({ error: 'pitch must be an integer' })
      .int('pitch must be an integer')
      .min(-12, 'pitch must be between -12 and 12')
      .max(12, 'pitch must be between -12 and 12')
      .optional(),
    emotion: z
      .enum(EMOTIONS, { error: `emotion must be one of ${EMOTIONS.join(', ')}` })
      .optional(),
    pronunciation_dict: z
      .array(
        z
          .string({ error: 'pronunciation_dict entries must be strings' })
          .regex(
            /^[^/]+\/[^/]+$/,
            'pronunciation_dict entries look like "ASAP/As soon as possible"',
          ),
        { error: 'pronunciation_dict must be a list of strings' },
      )
      .max(
        PRONUNCIATION_DICT_MAX_ENTRIES,
        `pronunciation_dict holds at most ${PRONUNCIATION_DICT_MAX_ENTRIES} entries`,
      )
      .optional(),
    english_normalization: z
      .boolean({ error: 'english_normalization must be a JSON boolean' })
      .optional(),
  } satisfies Record<keyof SpeechSettings, z.ZodType>;
}

export const SPEECH_SETTING_FIELDS = Object.keys(speechSettingsShape()) as Array<
  keyof SpeechSettings
>;

export function speechModelSchema() {
  return z.enum(SPEECH_MODELS, {
    error: `model must be one of ${SPEECH_MODELS.join(', ')}`,
  });
}

/** A complete speech submission, as the simulator validates it and the client sends it. */
export function speechParamsSchema() {
  return z.object({
    model: speechModelSchema(),
    text: z
      .string({ error: 'text must be a string' })
      .refine((t) => t.trim().length > 0, 'text must not be empty'),
    voice_id: z.string({ error: 'voice_id must be a string' }).min(1, 'voice_id is required'),
    ...speechSettingsShape(),
  });
}

/**
 * The JSON body of a speech submit. `enable_base64_output` is always false (results as URLs)
 * and `english_normalization` is required by the contract, so both are always sent.
 */
export function toSpeechBody(params: SpeechParams): Record<string, unknown> {
  const body: Record<string, unknown> = {
    text: params.text,
    voice_id: params.voice_id,
    enable_base64_output: false,
    english_normalization: params.english_normalization ?? false,
  };
  if (params.speed !== undefined) body.speed = params.speed;
  if (params.volume !== undefined) body.volume = params.volume;
  if (params.pitch !== undefined) body.pitch = params.pitch;
  if (params.emotion !== undefined) body.emotion = params.emotion;
  if (params.pronunciation_dict !== undefined) body.pronunciation_dict = params.pronunciation_dict;
  return body;
}

/**
 * A speech line as voxline stores it: the contract's fields but the voice, which is either a
 * system voice (`system_voice`) or a voxline voice kept beside the request, whose upstream id
 * is only known once it is cloned and changes when upstream forgets it and it is cloned again.
 */
export type SpeechRequest = Omit<SpeechParams, 'voice_id'> & { system_voice?: SystemVoice };
