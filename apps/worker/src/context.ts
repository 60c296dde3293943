import type { ArchiveOptions, AudioStore } from '@voxline/audio-store';
import type { Config } from '@voxline/config';
import type { Database } from '@voxline/db';
import type { Logger } from '@voxline/logger';
import type { Metrics } from '@voxline/metrics';
import type { Queues, RedisClient, UpstreamSlots, VoiceWaiters } from '@voxline/queue';
import type { PriceList, RunningHubClient } from '@voxline/runninghub';
import type { CloneViewOptions } from '@voxline/webhooks';
import type { UpstreamAccounts } from './accounts.js';
import type { PollSchedule } from './clone/poll-schedule.js';
import type { SuccessRecorder } from './clone/successes.js';

/** What every processor needs, built once per process by the runtime. */
export interface WorkerContext {
  config: Config;
  db: Database;
  redis: RedisClient;
  queues: Queues;
  /** The shared account's slots (accounts.shared.slots). */
  slots: UpstreamSlots;
  /** Every upstream account's client and slots: a task runs on its line's account only. */
  accounts: UpstreamAccounts;
  /** Speech lines parked until their voice's clone ends. */
  voiceWaiters: VoiceWaiters;
  /** The configured price list (RUNNINGHUB_PRICES over the public one), for the lines the worker makes. */
  prices: PriceList;
  /** Learned task durations, shared by every worker process through Redis. */
  schedule: PollSchedule;
  /** The shared account's client (accounts.shared.client). */
  upstream: RunningHubClient;
  /** Where results are copied (AUDIO_STORE), opened once per process, and how downloads go. */
  audio: { store: AudioStore; options: ArchiveOptions };
  /** Ends lines succeeded, the archive steps that finish together in one transaction. */
  successes: SuccessRecorder;
  /** How clone resources in webhook events are written (the API's public address). */
  cloneEvents: CloneViewOptions;
  logger: Logger;
  metrics: Metrics;
}
