import { createBatchSchema } from './batch-request.js';
import { createCloneSchema } from './clone-request.js';
import type { RequestLimits } from './fields.js';
import { createVoiceSchema, patchVoiceSchema } from './voice-request.js';

/**
 * Request bodies. Voice and speech field rules come from `@voxline/runninghub` (the contract's
 * rules in one place); ./fields.ts adds what the API itself bounds: text length, refs,
 * metadata, lines.
 *
 * Unknown fields are refused (400, `unknown field` at their path), everywhere: a misspelt
 * `need_noise_reducton` silently ignored would clone with the wrong settings and cost money.
 */

export {
  type BatchLineBody,
  type CreateBatchBody,
  createBatchSchema,
  type InlineVoiceBody,
} from './batch-request.js';
export {
  CLONE_ONLY_FIELDS,
  type CloneLineBody,
  type CreateCloneBody,
  createCloneSchema,
  isSpeechLineBody,
  isSpeechModel,
  type SpeechLineBody,
} from './clone-request.js';
export {
  isStorableString,
  metadataSchema,
  type RequestLimits,
  refuseUnstorableStrings,
} from './fields.js';
export {
  type CreateVoiceBody,
  createVoiceSchema,
  type PatchVoiceBody,
  patchVoiceSchema,
  VOICE_FILE_MAX_BYTES,
  VOICE_FORM_FIELD_TYPES,
  voicesQuery,
} from './voice-request.js';

/** Every request body whose rules depend on configured limits, built once per app. */
export function buildRequestSchemas(limits: RequestLimits) {
  return {
    createClone: createCloneSchema(limits),
    createBatch: createBatchSchema(limits),
    createVoice: createVoiceSchema(limits),
    patchVoice: patchVoiceSchema(limits),
  };
}
