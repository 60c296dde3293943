import { listQueuedForSlots } from '@voxline/db';
import { type FairWaiter, jobIds } from '@voxline/queue';
import { shapeKey, taskShape } from './clone/poll-schedule.js';
import { lineAccount, slotWaiter } from './clone/slot-waiter.js';
import type { WorkerContext } from './context.js';

const PAGE = 1_000;

/**
 * Fair shares: Postgres is the record of which lines wait. Each tick the waiting lists of every
 * account are rebuilt from the queued lines (adding only those missing: a list Redis lost, a
 * line whose registration failed, a worker killed between parking and registering), then every
 * account hands over the slots that are free (leases that lapsed, grants nobody promoted).
 * Returns how many lines were added.
 */
export async function rebuildSlotWaiters(ctx: WorkerContext): Promise<number> {
  if (!ctx.config.FAIR_SHARES) return 0;
  const before = new Date(Date.now() - ctx.config.RECONCILE_GRACE_MS);
  const byAccount = new Map<string, FairWaiter[]>();
  // One estimate per task shape, not one Redis read per line.
  const estimates = new Map<string, Promise<number | null>>();
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await listQueuedForSlots(ctx.db, { before, afterId: after, limit: PAGE });
    for (const row of page) {
      const shape = taskShape(row.job);
      const key = shapeKey(shape);
      let estimate = estimates.get(key);
      if (!estimate) {
        estimate = ctx.schedule.estimate(shape);
        estimates.set(key, estimate);
      }
      const waiter = slotWaiter(
        row.job,
        jobIds.submit(row.job.id, row.job.run),
        row,
        await estimate,
      );
      const account = lineAccount(row);
      const list = byAccount.get(account);
      if (list) list.push(waiter);
      else byAccount.set(account, [waiter]);
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.job.id ?? after;
  }
  let added = 0;
  for (const [name, waiters] of byAccount) {
    added += await (await ctx.accounts.get(name)).slots.rebuild(waiters);
  }
  for (const { slots } of await ctx.accounts.all()) await slots.decide();
  return added;
}
