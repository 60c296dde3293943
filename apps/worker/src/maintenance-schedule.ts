import type { Config } from '@voxline/config';
import { catalog, type MaintenanceTask, type Queues } from '@voxline/queue';

// The keep-alive scan is one indexed query; a voice is due a whole margin (a day by default)
// before upstream would forget it, so a few minutes' lag costs nothing.
const KEEP_ALIVE_SCAN_MAX_MS = 5 * 60_000;

/** How often the keep-alive scan runs: well inside the margin, at most every few minutes. */
export function keepAliveInterval(config: Config): number {
  return Math.max(1_000, Math.min(KEEP_ALIVE_SCAN_MAX_MS, config.VOICE_KEEP_ALIVE_MARGIN_MS / 4));
}

// Retention is counted in days: an hourly sweep deletes a file at most an hour late.
const RETENTION_SWEEP_MS = 3_600_000;

// The reconciler's scheduler keeps the id it always had, so an upgrade replaces it.
const SCHEDULER_IDS: Record<MaintenanceTask, string> = {
  reconcile: 'reconcile',
  keep_alive: 'keep-alive',
  retention: 'audio-retention',
};

/**
 * The maintenance queue's periodic tasks, as BullMQ job schedulers (so one process runs each at
 * a time): the reconciler, the keep-alive of kept voices, and, with AUDIO_RETENTION_DAYS, the
 * removal of old stored audio (its scheduler is removed when the setting is). An idempotent
 * upsert.
 */
export async function scheduleMaintenance(queues: Queues, config: Config): Promise<void> {
  const every: Partial<Record<MaintenanceTask, number>> = {
    reconcile: config.RECONCILE_INTERVAL_MS,
    keep_alive: keepAliveInterval(config),
    ...(config.AUDIO_RETENTION_DAYS !== undefined ? { retention: RETENTION_SWEEP_MS } : {}),
  };
  for (const task of Object.keys(SCHEDULER_IDS) as MaintenanceTask[]) {
    const ms = every[task];
    if (ms === undefined) {
      await queues.maintenance.removeJobScheduler(SCHEDULER_IDS[task]);
      continue;
    }
    await queues.maintenance.upsertJobScheduler(
      SCHEDULER_IDS[task],
      { every: ms },
      { name: catalog.maintenance.job, data: { task }, opts: catalog.maintenance.options },
    );
  }
}
