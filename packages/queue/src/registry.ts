import { type JobsOptions, Queue } from 'bullmq';
import { type CatalogEntry, catalog, type ParsedPayloadOf, type PayloadOf } from './catalog.js';
import type { RedisClient } from './connection.js';

export type Queues = { [K in CatalogEntry]: Queue };

/** One Queue per catalog entry, sharing a connection. Feeds producers, Bull Board and /readyz. */
export function createQueues(connection: RedisClient, prefix: string): Queues {
  const queues = {} as Queues;
  for (const key of Object.keys(catalog) as CatalogEntry[]) {
    queues[key] = new Queue(catalog[key].queue, { connection, prefix });
  }
  return queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}

export interface EnqueueItem<K extends CatalogEntry> {
  data: PayloadOf<K>;
  jobId: string;
  options?: JobsOptions;
}

/**
 * Validates every payload against the catalog before anything reaches Redis, then adds them
 * in chunks (one round trip per chunk). A bad payload throws and nothing of the call is added.
 */
export async function enqueue<K extends CatalogEntry>(
  queues: Queues,
  entry: K,
  items: Array<EnqueueItem<K>>,
  chunkSize = 1_000,
): Promise<void> {
  const spec = catalog[entry];
  const parsed = items.map((item) => ({
    name: spec.job,
    data: spec.payload.parse(item.data) as ParsedPayloadOf<K>,
    opts: { ...spec.options, ...item.options, jobId: item.jobId },
  }));
  for (let i = 0; i < parsed.length; i += chunkSize) {
    await queues[entry].addBulk(parsed.slice(i, i + chunkSize));
  }
}

/** Parses a job's data with its catalog schema (workers call this first). */
export function parsePayload<K extends CatalogEntry>(entry: K, data: unknown): ParsedPayloadOf<K> {
  return catalog[entry].payload.parse(data) as ParsedPayloadOf<K>;
}
