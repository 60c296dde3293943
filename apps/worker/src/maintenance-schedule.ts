import type { Config } from '@voxline/config';
import { catalog, type MaintenanceTask, type Queues } from '@voxline/queue';

// The keep-alive scan is one indexed query; a voice is due a whole margin (a day by default)
// before upstream would forget it, so a few minutes' lag costs nothing.
const KEEP_ALIVE_SCAN_MAX_MS = 5 * 60_000;

/** How often the keep-alive scan runs: well inside the margin, at most every few minutes. */
export function keepAliveInterval(config: Config): number {
  return Math.max(1_000, Math.min(KEEP_ALIVE_SCAN_MAX_MS, config.VOICE_KEEP_ALIVE_MARGIN_MS / 4));
}

/**
 * The maintenance queue's periodic tasks, as BullMQ job schedulers (so one process runs each at
 * a time): the reconciler, and the keep-alive of kept voices. An idempotent upsert.
 */
export async function scheduleMaintenance(queues: Queues, config: Config): Promise<void> {
  const every: Record<MaintenanceTask, number> = {
    reconcile: config.RECONCILE_INTERVAL_MS,
    keep_alive: keepAliveInterval(config),
  };
  for (const [task, ms] of Object.entries(every) as Array<[MaintenanceTask, number]>) {
    await queues.maintenance.upsertJobScheduler(
      // The reconciler's scheduler keeps the id it always had, so an upgrade replaces it.
      task === 'reconcile' ? 'reconcile' : 'keep-alive',
      { every: ms },
      { name: catalog.maintenance.job, data: { task }, opts: catalog.maintenance.options },
    );
  }
}
