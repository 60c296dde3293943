import type { Metrics } from '@voxline/metrics';
import type { UpstreamAccounts } from './accounts.js';

/**
 * The slot gauges at a scrape: tasks in flight per account and lines waiting per tenant, for
 * every account this process has used. Tenants that stopped waiting drop out of the gauge.
 */
export async function refreshSlotMetrics(
  metrics: Metrics,
  accounts: UpstreamAccounts,
): Promise<void> {
  metrics.slotsInUse.set(await accounts.shared.slots.inUse());
  metrics.tasksInFlight.reset();
  metrics.waitingLines.reset();
  for (const { name, slots } of await accounts.all()) {
    metrics.tasksInFlight.set({ account: name }, await slots.inUse());
    for (const [tenant, lines] of await slots.waitingByTenant()) {
      metrics.waitingLines.set({ tenant, account: name }, lines);
    }
  }
}
