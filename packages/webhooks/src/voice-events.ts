import { type CloneViewOptions, voiceResource } from '@voxline/contract';
import { type Executor, type Voice, viewOfVoice } from '@voxline/db';
import { recordEvent } from './outbox.js';

/**
 * Records `voice.ready` or `voice.failed` for a voice whose clone just ended, inside the
 * transaction that moved it (the outbox), with the voice resource the API shows as `data`: its
 * cost and preview are read in the same transaction, so they include the clone that just
 * ended. Returns the delivery ids to enqueue once committed.
 */
export async function recordVoiceEvent(
  tx: Executor,
  voice: Voice,
  type: 'voice.ready' | 'voice.failed',
  options: CloneViewOptions,
): Promise<string[]> {
  const view = await viewOfVoice(tx, voice);
  return recordEvent(tx, {
    tenantId: voice.tenantId,
    type,
    data: voiceResource(voice, view, options),
  });
}
