import {
  DEFAULT_VOICE_CLONE_MODEL,
  SPEECH_MODELS,
  SPEECH_SETTING_FIELDS,
  type SpeechModel,
  type SpeechSettings,
  type SystemVoice,
  speechSettingsShape,
  VOICE_CLONE_MODELS,
  type VoiceCloneParams,
  voiceOverrideShape,
} from '@voxline/runninghub';
import { z } from 'zod';
import {
  ALWAYS,
  asRecord,
  given,
  lineFields,
  metadataSchema,
  type RequestLimits,
  refuseUnstorableStrings,
  reuseAudioField,
  systemVoiceField,
  voiceIdField,
  webhookUrlField,
} from './fields.js';

/** The fields that only a voice-clone line has: the reference audio and how it is cloned. */
export const CLONE_ONLY_FIELDS = [
  'audio',
  'custom_voice_id',
  'accuracy',
  'need_noise_reduction',
  'need_volume_normalization',
  'language_boost',
] as const;

/** What names the voice of a speech line. */
export const SPEAKER_FIELDS = ['voice_id', 'system_voice'] as const;

export function isSpeechModel(model: unknown): model is SpeechModel {
  return (SPEECH_MODELS as readonly unknown[]).includes(model);
}

export const SPEECH_MODEL_MESSAGE = `model must be one of ${SPEECH_MODELS.join(', ')} when speaking with a voice`;

/**
 * `model` on a clone line is the voice-clone model (its preview), on a speech line the speech
 * endpoint; the speech models are a subset of the clone models, so the field takes either and
 * the mode's refinement narrows it.
 */
export function lineModelField() {
  return z.enum(VOICE_CLONE_MODELS, {
    error: `model must be one of ${VOICE_CLONE_MODELS.join(', ')} (speech lines: ${SPEECH_MODELS.join(', ')})`,
  });
}

interface LineExtras {
  ref?: string;
  webhook_url?: string;
  metadata?: Record<string, unknown>;
  reuse_audio?: boolean;
}

/** `POST /v1/clones` with the clone fields: one voice-clone call, as before voices. */
export type CloneLineBody = VoiceCloneParams & LineExtras;

/** `POST /v1/clones` with `voice_id` or `system_voice`: one speech call. */
export type SpeechLineBody = SpeechSettings &
  LineExtras & {
    text: string;
    model: SpeechModel;
    voice_id?: string;
    system_voice?: SystemVoice;
  };

export type CreateCloneBody = CloneLineBody | SpeechLineBody;

export function isSpeechLineBody(body: CreateCloneBody): body is SpeechLineBody {
  const b = body as Partial<SpeechLineBody>;
  return b.voice_id !== undefined || b.system_voice !== undefined;
}

/**
 * One object with the fields of both kinds of line and a refinement per kind, rather than a
 * union: a union's error says that no branch matched, not which field is wrong.
 */
export function createCloneSchema(limits: RequestLimits) {
  const overrides = voiceOverrideShape({ voiceIdMinLength: limits.voiceIdMinLength });
  return z
    .strictObject(
      {
        ...overrides,
        model: lineModelField().default(DEFAULT_VOICE_CLONE_MODEL),
        voice_id: voiceIdField.optional(),
        system_voice: systemVoiceField.optional(),
        ...speechSettingsShape(),
        ...lineFields(limits),
        webhook_url: webhookUrlField(),
        metadata: metadataSchema(limits.metadataMaxBytes).optional(),
        reuse_audio: reuseAudioField,
      },
      { error: 'body must be a JSON object' },
    )
    .superRefine(refuseUnstorableStrings)
    .superRefine((value, ctx) => {
      const body = asRecord(value);
      if (!body) return;
      const speaker = SPEAKER_FIELDS.filter((k) => given(body, k));
      if (speaker.length === 2) {
        ctx.addIssue({
          code: 'custom',
          path: ['system_voice'],
          message: 'give voice_id or system_voice, not both',
        });
      }
      if (speaker.length > 0) {
        for (const field of CLONE_ONLY_FIELDS) {
          if (given(body, field)) {
            ctx.addIssue({
              code: 'custom',
              path: [field],
              message: `is a clone field and cannot be combined with ${speaker[0]}`,
            });
          }
        }
        if (given(body, 'model') && !isSpeechModel(body.model)) {
          ctx.addIssue({ code: 'custom', path: ['model'], message: SPEECH_MODEL_MESSAGE });
        }
        return;
      }
      for (const field of SPEECH_SETTING_FIELDS) {
        if (given(body, field)) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: 'is a speech setting: give voice_id or system_voice to speak with a voice',
          });
        }
      }
      for (const field of ['audio', 'custom_voice_id'] as const) {
        if (!given(body, field)) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: 'is required (or give voice_id or system_voice to speak with a voice)',
          });
        }
      }
    }, ALWAYS)
    .transform((body): CreateCloneBody => {
      if (body.voice_id !== undefined || body.system_voice !== undefined) {
        return body as SpeechLineBody;
      }
      // The clone defaults, applied here rather than on the fields: a speech line has none.
      return {
        ...body,
        need_noise_reduction: body.need_noise_reduction ?? false,
        need_volume_normalization: body.need_volume_normalization ?? false,
      } as CloneLineBody;
    });
}
