import type { StatusCounts } from '../statuses.js';
import type { BatchRow } from './rows.js';

export function batchResource(batch: BatchRow, counts: StatusCounts) {
  return {
    id: batch.id,
    object: 'batch' as const,
    status: batch.status,
    total: batch.total,
    counts,
    metadata: batch.metadata ?? null,
    created_at: batch.createdAt.toISOString(),
    completed_at: batch.completedAt?.toISOString() ?? null,
  };
}
export type BatchResource = ReturnType<typeof batchResource>;

/** The answer to `POST /v1/batches`: the batch as accepted, before any line has run. */
export function acceptedBatch(batch: BatchRow) {
  return {
    id: batch.id,
    object: 'batch' as const,
    status: batch.status,
    total: batch.total,
    created_at: batch.createdAt.toISOString(),
  };
}
