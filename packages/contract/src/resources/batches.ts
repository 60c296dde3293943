import type { StatusCounts } from '../statuses.js';
import type { BatchRow } from './rows.js';
import { type CostView, costResource } from './voices.js';

/** A batch's cost: its lines' (and its voice's), plus the lines that reused stored audio. */
export interface BatchCostView extends CostView {
  /** Lines that reused audio already stored instead of calling upstream. */
  reused: number;
  /** What those lines would have cost by the price list. */
  saved: number;
}

function batchCostResource(cost: BatchCostView) {
  return { ...costResource(cost), reused: cost.reused, saved: cost.saved };
}

/**
 * A batch with its counts per status and its cost: its lines, plus the clone of the voice its
 * inline `voice` created (a reused voice's clone was paid for by whoever created it).
 */
export function batchResource(batch: BatchRow, counts: StatusCounts, cost: BatchCostView) {
  return {
    id: batch.id,
    object: 'batch' as const,
    status: batch.status,
    total: batch.total,
    counts,
    voice_id: batch.voiceId,
    cost: batchCostResource(cost),
    max_cost: batch.maxCost,
    metadata: batch.metadata ?? null,
    created_at: batch.createdAt.toISOString(),
    completed_at: batch.completedAt?.toISOString() ?? null,
  };
}
export type BatchResource = ReturnType<typeof batchResource>;

/** The answer to `POST /v1/batches`: the batch as accepted, before any line has run. */
export function acceptedBatch(batch: BatchRow, cost: BatchCostView) {
  return {
    id: batch.id,
    object: 'batch' as const,
    status: batch.status,
    total: batch.total,
    voice_id: batch.voiceId,
    cost: batchCostResource(cost),
    created_at: batch.createdAt.toISOString(),
  };
}
