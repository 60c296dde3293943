import { voiceCloneParamsSchema } from '@voxline/runninghub';
import { z } from 'zod';
import { cursorQuery, limitQuery } from './common.js';
import {
  metadataSchema,
  NAME_MAX_CHARS,
  type RequestLimits,
  refuseUnstorableStrings,
} from './fields.js';

/** The reference file of `POST /v1/voices` as multipart: RunningHub's upload limit. */
export const VOICE_FILE_MAX_BYTES = 10 * 1024 * 1024;

function nameField() {
  return z
    .string({ error: 'name must be a string' })
    .trim()
    .min(1, 'name must not be empty')
    .max(NAME_MAX_CHARS, `name must be at most ${NAME_MAX_CHARS} characters`);
}

/**
 * `POST /v1/voices`: the reference (`audio`, a URL, or a multipart `file`, which the route
 * reads apart) and how to clone it. `audio` is optional here because a multipart request
 * carries the file instead; the service asks for exactly one of the two.
 */
export function createVoiceSchema(limits: RequestLimits) {
  const clone = voiceCloneParamsSchema({ voiceIdMinLength: limits.voiceIdMinLength }).shape;
  return z
    .strictObject(
      {
        audio: clone.audio.optional(),
        name: nameField().optional(),
        model: clone.model,
        accuracy: clone.accuracy,
        need_noise_reduction: clone.need_noise_reduction,
        need_volume_normalization: clone.need_volume_normalization,
        language_boost: clone.language_boost,
        preview_text: z
          .string({ error: 'preview_text must be a string' })
          .max(
            limits.textMaxChars,
            `preview_text must be at most ${limits.textMaxChars} characters`,
          )
          .refine((t) => t.trim().length > 0, 'preview_text must not be empty')
          .optional(),
        keep_alive: z.boolean({ error: 'keep_alive must be a JSON boolean' }).default(false),
        metadata: metadataSchema(limits.metadataMaxBytes).optional(),
      },
      { error: 'body must be a JSON object' },
    )
    .superRefine(refuseUnstorableStrings);
}
export type CreateVoiceBody = z.output<ReturnType<typeof createVoiceSchema>>;

/** The multipart form fields of `POST /v1/voices` that are not strings, by JSON type. */
export const VOICE_FORM_FIELD_TYPES = {
  accuracy: 'number',
  need_noise_reduction: 'boolean',
  need_volume_normalization: 'boolean',
  keep_alive: 'boolean',
  metadata: 'json',
} as const;

/** `PATCH /v1/voices/:id`: what may change once a voice exists. `null` clears. */
export function patchVoiceSchema(limits: RequestLimits) {
  return z
    .strictObject(
      {
        name: nameField().nullable().optional(),
        keep_alive: z.boolean({ error: 'keep_alive must be a JSON boolean' }).optional(),
        metadata: metadataSchema(limits.metadataMaxBytes).nullable().optional(),
      },
      { error: 'body must be a JSON object' },
    )
    .superRefine(refuseUnstorableStrings)
    .superRefine((body, ctx) => {
      if (Object.values(body).every((v) => v === undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: 'give at least one of name, keep_alive, metadata',
        });
      }
    });
}
export type PatchVoiceBody = z.output<ReturnType<typeof patchVoiceSchema>>;

export const voicesQuery = z.strictObject({ limit: limitQuery, cursor: cursorQuery });
