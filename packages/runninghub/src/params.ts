import { z } from 'zod';

/** Models the voice-clone endpoint accepts (contract, "Submit a voice clone"). */
export const VOICE_CLONE_MODELS = [
  'speech-02-hd',
  'speech-02-turbo',
  'speech-2.5-hd-preview',
  'speech-2.5-turbo-preview',
  'speech-2.6-hd',
  'speech-2.6-turbo',
  'speech-2.8-hd',
  'speech-2.8-turbo',
] as const;
export type VoiceCloneModel = (typeof VOICE_CLONE_MODELS)[number];
export const DEFAULT_VOICE_CLONE_MODEL: VoiceCloneModel = 'speech-02-hd';

export const LANGUAGE_BOOSTS = [
  'auto',
  'Chinese',
  'Chinese,Yue',
  'English',
  'Arabic',
  'Russian',
  'Spanish',
  'French',
  'Portuguese',
  'German',
  'Turkish',
  'Dutch',
  'Ukrainian',
  'Vietnamese',
  'Indonesian',
  'Japanese',
  'Italian',
  'Korean',
  'Thai',
  'Polish',
  'Romanian',
  'Greek',
  'Czech',
  'Finnish',
  'Hindi',
] as const;
export type LanguageBoost = (typeof LANGUAGE_BOOSTS)[number];

export const DEFAULT_ACCURACY = 0.7;
export const CUSTOM_VOICE_ID_MAX_LENGTH = 256;

/** What the client sends; optional fields are left out of the JSON when undefined. */
export interface VoiceCloneParams {
  audio: string;
  custom_voice_id: string;
  text: string;
  accuracy?: number;
  need_noise_reduction: boolean;
  need_volume_normalization: boolean;
  model: VoiceCloneModel;
  language_boost?: LanguageBoost;
}

export interface VoiceCloneParamsSchemaOptions {
  /** The documented minimum is 8, yet the contract's own example `Elegant_Man` is 11 and
   * others seen are shorter: deployments pick the rule (CUSTOM_VOICE_ID_MIN_LENGTH). */
  voiceIdMinLength: number;
}

/** The documented custom_voice_id rules, each failing with a message that names it. */
export function customVoiceIdSchema(opts: VoiceCloneParamsSchemaOptions) {
  const min = opts.voiceIdMinLength;
  return z
    .string({ error: 'custom_voice_id must be a string' })
    .min(min, `custom_voice_id must be at least ${min} characters`)
    .max(
      CUSTOM_VOICE_ID_MAX_LENGTH,
      `custom_voice_id must be at most ${CUSTOM_VOICE_ID_MAX_LENGTH} characters`,
    )
    .regex(/^[A-Za-z]/, 'custom_voice_id must start with a letter')
    .regex(/^[A-Za-z0-9_-]*$/, 'custom_voice_id may only contain letters, digits, "-" and "_"')
    .regex(/[^-_]$/, 'custom_voice_id must not end with "-" or "_"')
    .regex(/\d/, 'custom_voice_id must contain a digit');
}

/**
 * The submit body with every field rule of the contract. Booleans must be real JSON
 * booleans (no "true" strings) and accuracy a JSON number: upstream rejects anything else.
 * Defaults are applied, so the parsed output is ready to send.
 */
export function voiceCloneParamsSchema(opts: VoiceCloneParamsSchemaOptions) {
  return z.object({
    audio: z
      .url({ protocol: /^https?$/, error: 'audio must be an http(s) URL of an MP3 or WAV file' })
      .max(4096, 'audio URL must be at most 4096 characters'),
    custom_voice_id: customVoiceIdSchema(opts),
    text: z
      .string({ error: 'text must be a string' })
      .refine((t) => t.trim().length > 0, 'text must not be empty'),
    accuracy: z
      .number({ error: 'accuracy must be a number' })
      .min(0, 'accuracy must be between 0 and 1')
      .max(1, 'accuracy must be between 0 and 1')
      .optional(),
    need_noise_reduction: z
      .boolean({ error: 'need_noise_reduction must be a JSON boolean' })
      .default(false),
    need_volume_normalization: z
      .boolean({ error: 'need_volume_normalization must be a JSON boolean' })
      .default(false),
    model: z
      .enum(VOICE_CLONE_MODELS, { error: `model must be one of ${VOICE_CLONE_MODELS.join(', ')}` })
      .default(DEFAULT_VOICE_CLONE_MODEL),
    language_boost: z
      .enum(LANGUAGE_BOOSTS, {
        error: `language_boost must be one of ${LANGUAGE_BOOSTS.join(', ')}`,
      })
      .optional(),
  });
}

/** The fields of a voice: every submit field but the text. A batch line may override each. */
export const VOICE_FIELDS = [
  'audio',
  'custom_voice_id',
  'accuracy',
  'need_noise_reduction',
  'need_volume_normalization',
  'model',
  'language_boost',
] as const satisfies readonly (keyof VoiceCloneParams)[];
export type VoiceField = (typeof VOICE_FIELDS)[number];

/**
 * A batch line's voice overrides: the contract's rules without defaults, so that a field the
 * line leaves out keeps the batch voice's value.
 */
export function voiceOverrideShape(opts: VoiceCloneParamsSchemaOptions) {
  const v = voiceCloneParamsSchema(opts).shape;
  return {
    audio: v.audio.optional(),
    custom_voice_id: v.custom_voice_id.optional(),
    accuracy: v.accuracy,
    need_noise_reduction: v.need_noise_reduction.unwrap().optional(),
    need_volume_normalization: v.need_volume_normalization.unwrap().optional(),
    model: v.model.unwrap().optional(),
    language_boost: v.language_boost,
  } satisfies Record<VoiceField, z.ZodType>;
}

/** Removes undefined optionals so they are left out of the JSON, as the contract asks. */
export function toSubmitBody(params: VoiceCloneParams): Record<string, unknown> {
  const body: Record<string, unknown> = {
    audio: params.audio,
    custom_voice_id: params.custom_voice_id,
    text: params.text,
    need_noise_reduction: params.need_noise_reduction,
    need_volume_normalization: params.need_volume_normalization,
    model: params.model,
  };
  if (params.accuracy !== undefined) body.accuracy = params.accuracy;
  if (params.language_boost !== undefined) body.language_boost = params.language_boost;
  return body;
}
