import type { AudioStore } from '@voxline/audio-store';
import type { Config } from '@voxline/config';
import type { Database } from '@voxline/db';
import type { Logger } from '@voxline/logger';
import type { Metrics } from '@voxline/metrics';
import type { Queues, RedisClient } from '@voxline/queue';
import type { PriceList } from '@voxline/runninghub';
import type { TargetAllowlist } from '@voxline/webhooks';
import type { ApiSchemas } from './schemas/index.js';
import type { ApiMetrics } from './services/api-metrics.js';

/** What `buildApp` is given: the process owns these and closes them, the app only uses them. */
export interface AppDeps {
  config: Config;
  db: Database;
  redis: RedisClient;
  queues: Queues;
  logger: Logger;
  /**
   * The process's metrics registry. `pnpm start` runs the API and the worker in one process and
   * passes the worker's, so one /metrics shows both; a registry of its own when omitted.
   */
  metrics?: Metrics;
}

/** Everything a route or service needs, built once per app. */
export interface AppContext extends AppDeps {
  metrics: Metrics;
  /** Counters only the API writes (reuse, callbacks, 429s), in the same registry. */
  apiMetrics: ApiMetrics;
  /** Where archived audio is read from (AUDIO_STORE), opened once and closed with the app. */
  audioStore: AudioStore;
  /** `publicBaseUrl(config)`: what clone resources link their stored audio under. */
  baseUrl: string;
  schemas: ApiSchemas;
  /** What each task is estimated to cost (RUNNINGHUB_PRICES over the public list). */
  prices: PriceList;
  allowlists: { audio: TargetAllowlist; webhook: TargetAllowlist };
}
