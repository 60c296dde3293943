import type { Config } from '@voxline/config';
import { buildRequestSchemas } from '@voxline/contract';

/** The request schemas that depend on configured limits, built once per app. */
export function buildSchemas(config: Config) {
  return buildRequestSchemas({
    voiceIdMinLength: config.CUSTOM_VOICE_ID_MIN_LENGTH,
    textMaxChars: config.CLONE_TEXT_MAX_CHARS,
    metadataMaxBytes: config.METADATA_MAX_BYTES,
    batchMaxLines: config.BATCH_MAX_LINES,
  });
}
export type ApiSchemas = ReturnType<typeof buildSchemas>;
