import {
  claimKeepAlive,
  findKeepAliveDue,
  insertCloneJobs,
  KEEP_ALIVE_METADATA,
  type NewCloneJob,
  newId,
} from '@voxline/db';
import { enqueue, PRIORITY, submitJob } from '@voxline/queue';
import {
  estimateTaskCost,
  type PriceList,
  SPEECH_MODELS,
  type SpeechModel,
} from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';

// The shortest line worth sending: one cheap speech call is all upstream needs to see a use.
const KEEP_ALIVE_TEXT = 'Hi.';
// Voices handled per scan; the next scan (minutes later) takes the rest.
const SCAN_LIMIT = 500;

/** The cheapest speech model by the configured prices (speech-02-turbo on the public list). */
export function cheapestSpeechModel(prices: PriceList): SpeechModel {
  return SPEECH_MODELS.reduce((best, model) =>
    prices.speechPer1kChars[model] < prices.speechPer1kChars[best] ? model : best,
  );
}

/**
 * Upstream forgets a cloned voice unused for 7 days. A voice its tenant marked `keep_alive`
 * gets one cheap speech line (costed and recorded like any line, marked
 * `metadata.keep_alive`) when it is within VOICE_KEEP_ALIVE_MARGIN_MS of that; its success
 * touches the voice, which moves its expiry a week on. A keep-alive that failed is tried again
 * after a quarter of the margin, still before the voice would be forgotten. Returns how many
 * lines were made.
 */
export async function keepVoicesAlive(ctx: WorkerContext): Promise<number> {
  const marginMs = ctx.config.VOICE_KEEP_ALIVE_MARGIN_MS;
  const window = { marginMs, retryMs: marginMs / 4 };
  const model = cheapestSpeechModel(ctx.prices);
  let made = 0;
  for (const voice of await findKeepAliveDue(ctx.db, { ...window, limit: SCAN_LIMIT })) {
    const line = await ctx.db.transaction(async (tx) => {
      // The claim is the compare-and-set: two scans racing make one line.
      if (!(await claimKeepAlive(tx, { voiceId: voice.id, ...window }))) return null;
      const row = {
        id: newId(),
        tenantId: voice.tenantId,
        kind: 'speech',
        voiceId: voice.id,
        priority: PRIORITY.batch,
        request: { model, text: KEEP_ALIVE_TEXT },
        estimatedCost: estimateTaskCost(ctx.prices, {
          kind: 'speech',
          model,
          text: KEEP_ALIVE_TEXT,
        }),
        metadata: { ...KEEP_ALIVE_METADATA },
      } satisfies NewCloneJob;
      await insertCloneJobs(tx, [row]);
      return row;
    });
    if (!line) continue;
    await enqueue(ctx.queues, 'cloneSubmit', [submitJob({ ...line, run: 1 })]);
    made += 1;
  }
  return made;
}
