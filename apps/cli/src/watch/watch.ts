import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchResponse as Batch, type StatusCounts, terminalCount } from '@voxline/contract';
import { type ApiClient, ApiError } from '../api/client.js';
import { batchesMoney } from './cost.js';
import type { Snapshot } from './progress.js';

export const DEFAULT_POLL_INTERVAL_MS = 1_000;

export function isFinished(batch: Batch): boolean {
  return terminalCount(batch.counts) >= batch.total;
}

export function sumCounts(batches: Batch[]): StatusCounts {
  const sum: StatusCounts = {
    queued: 0,
    submitting: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    canceled: 0,
  };
  for (const b of batches) {
    for (const key of Object.keys(sum) as Array<keyof StatusCounts>) sum[key] += b.counts[key];
  }
  return sum;
}

/**
 * Polls `GET /v1/batches/:id` for each batch until every line of every batch is terminal,
 * reporting the totals after each round. A batch that is finished is not asked again. While
 * the API cannot be reached (a restart, a blip) the watch carries on and says so; a 4xx
 * (unknown batch, bad key) ends it.
 */
export async function watchBatches(
  client: ApiClient,
  ids: string[],
  options: {
    intervalMs: number;
    signal: AbortSignal;
    onUpdate: (snapshot: Snapshot, batches: Batch[]) => void;
  },
): Promise<Batch[]> {
  const latest = new Map<string, Batch>();
  for (;;) {
    const pending = ids.filter((id) => {
      const b = latest.get(id);
      return !b || !isFinished(b);
    });
    let problem: string | undefined;
    try {
      const fetched = await Promise.all(pending.map((id) => client.getBatch(id, options.signal)));
      for (const b of fetched) latest.set(b.id, b);
    } catch (error) {
      if (options.signal.aborted) throw error;
      if (!(error instanceof ApiError) || (error.status > 0 && error.status < 500)) throw error;
      problem = `${error.code}: retrying`;
    }
    const batches = ids.flatMap((id) => latest.get(id) ?? []);
    if (batches.length === ids.length) {
      options.onUpdate(
        {
          total: batches.reduce((n, b) => n + b.total, 0),
          counts: sumCounts(batches),
          money: batchesMoney(batches),
          problem,
        },
        batches,
      );
      if (batches.every(isFinished)) return batches;
    }
    await sleep(options.intervalMs, undefined, { signal: options.signal });
  }
}
