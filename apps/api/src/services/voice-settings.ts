import { createHash } from 'node:crypto';
import { canonicalJson } from '@voxline/contract';
import type { VoiceCloneSettings } from '@voxline/db';
import type { VoiceCloneParams } from '@voxline/runninghub';

/** Where a voice is cloned from: a URL as given, or an uploaded file by its digest. */
export type VoiceSource = { url: string } | { sha256: string };

/** How a voice is cloned: the clone fields but the reference, the id and the text. */
export function cloneSettings(
  fields: Pick<
    VoiceCloneParams,
    'model' | 'accuracy' | 'need_noise_reduction' | 'need_volume_normalization' | 'language_boost'
  >,
): VoiceCloneSettings {
  return {
    model: fields.model,
    need_noise_reduction: fields.need_noise_reduction,
    need_volume_normalization: fields.need_volume_normalization,
    ...(fields.accuracy !== undefined ? { accuracy: fields.accuracy } : {}),
    ...(fields.language_boost !== undefined ? { language_boost: fields.language_boost } : {}),
  };
}

/**
 * `voices.settings_hash`: the same reference cloned with the same settings makes the same
 * voice, so a batch's inline voice reuses one the tenant already has. The preview text and the
 * name are left out: they do not change how the voice sounds.
 */
export function voiceSettingsHash(source: VoiceSource, settings: VoiceCloneSettings): string {
  return createHash('sha256').update(canonicalJson({ source, settings })).digest('hex');
}
