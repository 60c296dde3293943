import { audioResource, type CloneViewOptions } from './clones.js';
import type { AudioResultRow, VoiceRow } from './rows.js';

export const CURRENCY = 'CNY' as const;

export interface CostView {
  estimated: number;
  actual: number | null;
}

/** `{ estimated, actual, currency }`: `actual` is what upstream reported, null when it did not. */
export function costResource(cost: CostView) {
  return { estimated: cost.estimated, actual: cost.actual, currency: CURRENCY };
}

/**
 * The public shape of a voice: what `/v1/voices` returns and what `voice.*` webhook events
 * carry as `data`. The upstream id is shown because a studio may want to use the voice
 * elsewhere; it changes when upstream forgot the voice and voxline cloned it again.
 */
export function voiceResource(
  voice: VoiceRow,
  view: { cost: CostView; preview: (AudioResultRow & { cloneJobId: string }) | null },
  options: CloneViewOptions,
) {
  return {
    id: voice.id,
    object: 'voice' as const,
    name: voice.name,
    status: voice.status,
    upstream_voice_id: voice.upstreamVoiceId,
    reference: voice.audioUrl
      ? { kind: 'url' as const, url: voice.audioUrl }
      : { kind: 'upload' as const, url: null },
    settings: voice.settings,
    preview_text: voice.previewText,
    // The clone task's audio, linked like any clone's: voxline's copy outlives upstream's link.
    preview: view.preview ? audioResource(view.preview.cloneJobId, view.preview, options) : null,
    cost: costResource(view.cost),
    clones: voice.clones,
    keep_alive: voice.keepAlive,
    error: voice.errorCode ? { code: voice.errorCode, message: voice.errorMessage ?? '' } : null,
    metadata: voice.metadata ?? null,
    created_at: voice.createdAt.toISOString(),
    ready_at: voice.readyAt?.toISOString() ?? null,
    last_used_at: voice.lastUsedAt?.toISOString() ?? null,
    expires_at: voice.expiresAt?.toISOString() ?? null,
  };
}
export type VoiceResource = ReturnType<typeof voiceResource>;
