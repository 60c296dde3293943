import { type Executor, lockVoices, type Voice } from '@voxline/db';
import type { SpeechModel, SpeechRequest, SpeechSettings, SystemVoice } from '@voxline/runninghub';
import { ApiError } from '../errors.js';

/** A voice named by a request, at the first field that names it (`voice_id`, `lines.4.voice_id`). */
export interface VoiceReference {
  id: string;
  path: string;
}

/**
 * Reads and locks (FOR SHARE, until the transaction ends) every voice the request names. An
 * unknown, deleted or other tenant's voice is a 404 naming the field; a voice whose clone
 * failed is a 422 with its error (its lines could only fail: redrive its failed lines, or
 * create the voice again).
 */
export async function lockNamedVoices(
  tx: Executor,
  tenantId: string,
  references: VoiceReference[],
): Promise<Map<string, Voice>> {
  const firstPath = new Map<string, string>();
  for (const ref of references) if (!firstPath.has(ref.id)) firstPath.set(ref.id, ref.path);
  const found = await lockVoices(tx, { tenantId, ids: [...firstPath.keys()] });
  const byId = new Map(found.map((v) => [v.id, v]));
  const missing = [...firstPath].filter(([id]) => !byId.has(id));
  if (missing.length > 0) {
    throw new ApiError(
      404,
      'voice_not_found',
      `no such voice: ${missing.map(([id, path]) => `${path} (${id})`).join(', ')}`,
      missing.map(([, path]) => ({ path, message: 'no such voice' })),
    );
  }
  const failed = [...firstPath].flatMap(([id, path]) => {
    const voice = byId.get(id);
    return voice?.status === 'failed' ? [{ path, voice }] : [];
  });
  const [first] = failed;
  if (first) {
    throw new ApiError(
      422,
      'voice_failed',
      `the voice at ${first.path} failed to clone (${first.voice.errorCode ?? 'unknown'}): ${
        first.voice.errorMessage ?? ''
      }`,
      failed.map(({ path, voice }) => ({
        path,
        voice_id: voice.id,
        error: { code: voice.errorCode ?? '', message: voice.errorMessage ?? '' },
      })),
    );
  }
  return byId;
}

/** A speech line's stored request: the settings given, nothing undefined. */
export function speechRequest(params: {
  model: SpeechModel;
  text: string;
  settings: SpeechSettings;
  systemVoice?: SystemVoice | undefined;
}): SpeechRequest {
  const request: SpeechRequest = { model: params.model, text: params.text };
  for (const [field, value] of Object.entries(params.settings)) {
    if (value !== undefined) Object.assign(request, { [field]: value });
  }
  if (params.systemVoice !== undefined) request.system_voice = params.systemVoice;
  return request;
}
