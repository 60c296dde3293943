import type { Usage } from '@voxline/runninghub';
import type { AudioResultRow, CloneJobRow } from './rows.js';
import { cloneAudioUrl } from './urls.js';
import { costResource } from './voices.js';

/**
 * The public `audio.usage`: null when upstream sent no usage, else exactly its four cost fields,
 * each a string or null, whatever upstream sent (see @voxline/runninghub `Usage`). Fields are
 * picked one by one so that a stored row missing one still has it (as null) and nothing else
 * in the jsonb reaches the API; fields upstream adds stay in the stored raw response.
 */
export function usageResource(usage: Usage | null) {
  if (!usage) return null;
  return {
    consumeMoney: usage.consumeMoney ?? null,
    consumeCoins: usage.consumeCoins ?? null,
    taskCostTime: usage.taskCostTime ?? null,
    thirdPartyConsumeMoney: usage.thirdPartyConsumeMoney ?? null,
  };
}

/** What a clone's view needs besides its rows. */
export interface CloneViewOptions {
  /** `publicBaseUrl(config)`: stored audio is linked under it. */
  baseUrl: string;
}

/**
 * A clone's `audio`: voxline's copy once archived (`url` is then the API's own link, which
 * outlives upstream's, and stays the link after retention removed the file: it answers 410),
 * upstream's link for results stored before the audio store existed or not archived yet.
 * `upstream_url` is always upstream's, with its expiry in `url_expires_at`.
 */
export function audioResource(cloneId: string, audio: AudioResultRow, options: CloneViewOptions) {
  const archived = audio.archivedAt !== null && audio.storageKey !== null;
  return {
    url: archived ? cloneAudioUrl(options.baseUrl, cloneId) : audio.url,
    upstream_url: audio.url,
    type: audio.outputType,
    url_expires_at: audio.urlExpiresAt?.toISOString() ?? null,
    usage: usageResource(audio.usage),
    sha256: audio.sha256,
    bytes: audio.bytes,
    format: audio.format,
    duration_ms: audio.durationMs,
    sample_rate: audio.sampleRate,
    channels: audio.channels,
  };
}

/**
 * The public shape of a clone job: what `GET /v1/clones/:id` returns and what webhook events
 * carry as `data`. One function, so the API and the webhooks can never disagree.
 */
export function cloneResource(
  job: CloneJobRow,
  audio: AudioResultRow | null,
  options: CloneViewOptions,
) {
  return {
    id: job.id,
    object: 'clone' as const,
    batch_id: job.batchId,
    ref: job.ref,
    status: job.status,
    kind: job.kind,
    voice_id: job.voiceId,
    attempts: job.attempts,
    run: job.run,
    upstream_task_id: job.upstreamTaskId,
    request: job.request,
    audio: audio ? audioResource(job.id, audio, options) : null,
    cost: {
      ...costResource({ estimated: job.estimatedCost, actual: job.actualCost }),
      saved: job.savedCost,
    },
    reused_from: job.reusedFrom,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    metadata: job.metadata ?? null,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    completed_at: job.completedAt?.toISOString() ?? null,
  };
}
export type CloneResource = ReturnType<typeof cloneResource>;
