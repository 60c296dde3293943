import {
  type Executor,
  findStrandedDeliveriesPerTenant,
  getDeliveryStates,
  listPendingDeliveries,
  type PendingCursor,
} from '@voxline/db';
import type { Queues, RedisClient } from '@voxline/queue';
import { enqueueDeliveries, requeueDeliveries } from './outbox.js';
import { TenantLanes } from './tenant-lanes.js';

/**
 * Which pending deliveries get a BullMQ job: at most WEBHOOK_MAX_PENDING_PER_TENANT per tenant
 * (see tenant-lanes.ts). Beyond that a delivery stays `pending` in Postgres, the record, and is
 * admitted as its tenant's lane drains (`refillLane`, after each delivery that ends) or by the
 * reconciler (`reconcileLanes`), so nothing is lost and one tenant's backlog never fills Redis.
 */

export interface AdmissionDeps {
  db: Executor;
  queues: Queues;
  /** The connection the lanes live on: the queues' own Redis (Cluster or not). */
  redis: RedisClient;
  /** WEBHOOK_MAX_PENDING_PER_TENANT. */
  maxPending: number;
}

/** The lanes beside a set of queues: same Redis, same prefix (one hash tag). */
export function lanesOf(deps: Pick<AdmissionDeps, 'queues' | 'redis'>): TenantLanes {
  const queue = deps.queues.webhookDelivery;
  return new TenantLanes(deps.redis, queue.opts.prefix ?? 'bull', queue);
}

// Deliveries looked up and admitted per round trip.
const ADMIT_CHUNK = 5_000;

function byTenant(rows: Array<{ id: string; tenantId: string }>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const row of rows) {
    const group = groups.get(row.tenantId) ?? [];
    group.push(row.id);
    groups.set(row.tenantId, group);
  }
  return groups;
}

/**
 * Queues jobs for committed deliveries, each tenant's up to the room in its lane; those over it
 * stay pending in Postgres for `refillLane`. Returns how many got a job. `now` promotes a
 * delayed job (a redelivery runs at once).
 */
export async function admitDeliveries(
  deps: AdmissionDeps,
  deliveryIds: string[],
  options: { now?: boolean } = {},
): Promise<number> {
  const lanes = lanesOf(deps);
  let queued = 0;
  // A canceled 10,000-line batch with several endpoints is tens of thousands of deliveries:
  // chunks keep each statement under Postgres' parameter limit and each script short.
  for (let i = 0; i < deliveryIds.length; i += ADMIT_CHUNK) {
    const states = await getDeliveryStates(deps.db, {
      ids: deliveryIds.slice(i, i + ADMIT_CHUNK),
    });
    const pending = states.filter((s) => s.status === 'pending');
    for (const [tenantId, ids] of byTenant(pending)) {
      const admitted = await lanes.admit(tenantId, ids, deps.maxPending);
      // A redelivery's finished job is kept under the same id: requeueing removes it first.
      // New deliveries have no job yet, and are added in bulk.
      if (options.now) await requeueDeliveries(deps.queues, admitted, options);
      else await enqueueDeliveries(deps.queues, admitted);
      queued += admitted.length;
    }
  }
  return queued;
}

// Pending rows read per page of a backlog scan.
const SCAN_PAGE = 500;
// A refill waits until this much room has freed (at most a tenth of the cap): one backlog scan
// per hundred deliveries ended, not one per delivery.
const refillStep = (maxPending: number) => Math.max(1, Math.min(100, Math.floor(maxPending / 10)));
// At most this many per refill: it runs inside a delivery job, which should not wait long. A
// lane with more room is refilled further as the ones admitted now end.
const REFILL_MAX = 1_000;
// Longer than a refill takes; lapses should its holder die.
const REFILL_LOCK_MS = 30_000;

const encodeCursor = (c: PendingCursor) => `${c.createdAt.toISOString()}|${c.id}`;

function decodeCursor(text: string | null): PendingCursor | null {
  if (!text) return null;
  const [at, id] = text.split('|');
  return at && id ? { createdAt: new Date(at), id } : null;
}

/**
 * Admits a tenant's held-back deliveries into the room its lane has, oldest first. The scan
 * goes on from where the previous one stopped (a cursor in Redis), so a refill reads about
 * what it admits, not the whole backlog; at the end it starts over from the oldest, and a pass
 * from the oldest that finds nothing held back clears the tenant's backlog mark. One caller
 * refills a lane at a time; the others skip, so the holder looks again once it has unlocked
 * (room freed while it worked, by a caller that skipped, is not left unused). Returns how many
 * it admitted.
 */
export async function refillLane(deps: AdmissionDeps, tenantId: string): Promise<number> {
  const lanes = lanesOf(deps);
  let admitted = 0;
  while (admitted < REFILL_MAX) {
    if (!(await lanes.isBacklogged(tenantId))) return admitted;
    const room = Math.min(deps.maxPending - (await lanes.queued(tenantId)), REFILL_MAX - admitted);
    if (room < refillStep(deps.maxPending)) return admitted;
    if (!(await lanes.lockRefill(tenantId, REFILL_LOCK_MS))) return admitted;
    try {
      admitted += await scanBacklog(deps, lanes, tenantId, room);
    } finally {
      await lanes.unlockRefill(tenantId);
    }
  }
  return admitted;
}

async function scanBacklog(
  deps: AdmissionDeps,
  lanes: TenantLanes,
  tenantId: string,
  roomAtStart: number,
): Promise<number> {
  let room = roomAtStart;
  let admittedTotal = 0;
  let cursor = decodeCursor(await lanes.cursor(tenantId));
  let fromOldest = cursor === null;
  let heldSeen = 0;
  while (room > 0) {
    const page = await listPendingDeliveries(deps.db, {
      tenantId,
      after: cursor,
      limit: SCAN_PAGE,
    });
    const inLane = await lanes.inLane(
      tenantId,
      page.map((row) => row.id),
    );
    const held = page.filter((_, i) => !inLane[i]);
    heldSeen += held.length;
    const taking = held.slice(0, room);
    const admitted = await lanes.admit(
      tenantId,
      taking.map((row) => row.id),
      deps.maxPending,
    );
    await requeueDeliveries(deps.queues, admitted);
    admittedTotal += admitted.length;
    room -= admitted.length;
    const last = taking.length < held.length ? taking.at(-1) : page.at(-1);
    if (admitted.length < taking.length) break; // the lane filled meanwhile
    if (last) cursor = { createdAt: last.createdAt, id: last.id };
    if (page.length < SCAN_PAGE && taking.length === held.length) {
      // The end of the backlog: nothing held back on a pass from the oldest means none is.
      if (fromOldest && heldSeen === 0) {
        await lanes.clearBacklog(tenantId);
        cursor = null;
        break;
      }
      cursor = null;
      if (fromOldest) break;
      fromOldest = true;
      heldSeen = 0;
    }
  }
  await lanes.setCursor(tenantId, cursor ? encodeCursor(cursor) : null);
  return admittedTotal;
}

/** A delivery that needs no job any more leaves its lane, which makes room for the backlog. */
export async function leaveLane(
  deps: AdmissionDeps,
  tenantId: string,
  deliveryId: string,
): Promise<void> {
  const lanes = lanesOf(deps);
  await lanes.leave(tenantId, [deliveryId]);
  await refillLane(deps, tenantId);
}

// Lane members checked per tenant per reconciler pass.
const SWEEP_PAGE = 500;
// Stranded deliveries per tenant per pass: one tenant's thousands do not crowd out the others.
const STRANDED_PER_TENANT = 100;

export interface LaneReport {
  /** Pending deliveries given a job again (theirs was lost). */
  requeued: number;
  /** Lane entries of deliveries no longer pending (a worker died before removing them). */
  released: number;
  /** Held-back deliveries admitted. */
  admitted: number;
}

/**
 * The reconciler's webhook pass, respecting each tenant's cap: lane entries whose delivery has
 * ended are dropped (a crash between the end and the removal would otherwise shrink the lane
 * for good), pending deliveries due before `olderThan` without a live job get one (a bounded
 * number per tenant, within the tenant's room), and backlogged lanes are refilled.
 */
export async function reconcileLanes(
  deps: AdmissionDeps,
  params: { olderThan: Date; limit: number },
): Promise<LaneReport> {
  const lanes = lanesOf(deps);
  const report: LaneReport = { requeued: 0, released: 0, admitted: 0 };
  for (const tenantId of await lanes.lanes()) {
    const members = await lanes.admittedBefore(tenantId, params.olderThan.getTime(), SWEEP_PAGE);
    const states = await getDeliveryStates(deps.db, { ids: members });
    const live = new Set(states.filter((s) => s.status === 'pending').map((s) => s.id));
    const ended = members.filter((id) => !live.has(id));
    await lanes.leave(tenantId, ended);
    // A delivery retrying for days stays in its lane: the next sweep looks past it.
    await lanes.touch(tenantId, [...live]);
    report.released += ended.length;
  }

  const stranded = await findStrandedDeliveriesPerTenant(deps.db, {
    olderThan: params.olderThan,
    perTenant: STRANDED_PER_TENANT,
    limit: params.limit,
  });
  for (const [tenantId, ids] of byTenant(stranded)) {
    const admitted = await lanes.admit(tenantId, ids, deps.maxPending);
    report.requeued += await requeueDeliveries(deps.queues, admitted);
  }
  for (const tenantId of await lanes.backlogged()) {
    report.admitted += await refillLane(deps, tenantId);
  }
  return report;
}
