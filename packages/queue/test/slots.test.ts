import { createTestRedis, type TestRedis } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catalog,
  closeQueues,
  createQueues,
  type FairWaiter,
  fairOrderKey,
  type Queues,
  slotHolder,
  slotKeys,
  slotsInUse,
  UpstreamSlots,
} from '../src/index.js';

/** A line asking for a slot; only its holder (and, parked, its job and priority) matter here. */
function line(holder: string, parked: { bullJobId?: string; priority?: number } = {}): FairWaiter {
  return {
    tenant: 'tenant',
    bullJobId: parked.bullJobId ?? holder,
    holder,
    priority: parked.priority ?? 1,
    orderKey: fairOrderKey(0),
    costSeconds: 1,
    weight: 1,
  };
}

describe('upstream slots', () => {
  let t: TestRedis;
  let queues: Queues;
  const slotsOf = (limit: number, account?: string) =>
    new UpstreamSlots({
      redis: t.redis,
      prefix: t.prefix,
      limit,
      submitQueue: queues.cloneSubmit,
      ...(account ? { account } : {}),
    });
  beforeAll(async () => {
    t = await createTestRedis();
    queues = createQueues(t.redis, t.prefix);
  });
  afterAll(async () => {
    await closeQueues(queues);
    await t.cleanup();
  });

  it('never grants more than the limit, renews a holder, and reclaims expired leases', async () => {
    const slots = slotsOf(2, 'limits');
    const granted = await Promise.all(
      Array.from({ length: 10 }, (_, i) => slots.acquire(line(`job-${i}`), 60_000)),
    );
    expect(granted.filter(Boolean)).toHaveLength(2);
    const holder = `job-${granted.indexOf(true)}`;
    expect(await slots.acquire(line(holder), 60_000)).toBe(true);
    expect(await slots.inUse()).toBe(2);
    await slots.release(holder);
    // A lease that expired before it was taken (a worker that died long ago), with no waiting
    // on the clock: it holds no live slot, and the next acquirer reclaims it.
    expect(await slots.acquire(line('newcomer'), -1)).toBe(true);
    expect(await slots.inUse()).toBe(1);
    expect(await slots.acquire(line('after-expiry'), 60_000)).toBe(true);
    expect(await slots.inUse()).toBe(2);
    expect(await slots.acquire(line('one-too-many'), 60_000)).toBe(false);
    // hold() is for a task already running upstream: it counts whatever the limit.
    await slots.hold('adopted', 60_000);
    expect(await slots.inUse()).toBe(3);
  });

  // A parked job is one a failed acquire moved to delayed (here: added with a long delay).
  const parkedJob = async () =>
    (await queues.cloneSubmit.add(catalog.cloneSubmit.job, {}, { delay: 600_000 })).id as string;

  it('parks a job that finds the slots full, and a release promotes the first waiter', async () => {
    const slots = slotsOf(1, 'wake');
    expect(await slots.acquire(line('holder'), 60_000)).toBe(true);
    const parked = async (name: string, priority: number) => {
      expect(await slots.acquire(line(name), 60_000)).toBe(false);
      const bullJobId = await parkedJob();
      await slots.wait(line(name, { bullJobId, priority }));
      return bullJobId;
    };
    const batch = await parked('batch-line', 10);
    const interactive = await parked('interactive-line', 1);
    expect(await slots.waiting()).toBe(2);
    expect(await queues.cloneSubmit.getJobState(batch)).toBe('delayed');

    await slots.release('holder');
    // The interactive waiter arrived later but has the lower (earlier) priority.
    expect(await queues.cloneSubmit.getJobState(interactive)).not.toBe('delayed');
    expect(await queues.cloneSubmit.getJobState(batch)).toBe('delayed');
    expect(await slots.waiting()).toBe(1);
    expect(await slots.inUse()).toBe(0);
  });

  it('wakes a job whose slot freed while it was on its way to park', async () => {
    // The bench's 30 s stragglers: the release came after the job's failed acquire but before
    // it was delayed, so it found no parked waiter to promote.
    const slots = slotsOf(1, 'window');
    expect(await slots.acquire(line('holder'), 60_000)).toBe(true);
    expect(await slots.acquire(line('late-line'), 60_000)).toBe(false);
    await slots.release('holder');
    const bullJobId = await parkedJob();
    await slots.wait(line('late-line', { bullJobId, priority: 1 }));
    expect(await queues.cloneSubmit.getJobState(bullJobId)).not.toBe('delayed');
    expect(await slots.waiting()).toBe(0);
  });

  it('keeps each account in its own set, the default one under the historical keys', async () => {
    expect(slotKeys(t.prefix)).toEqual({
      leases: `${t.prefix}:upstream-slots`,
      waiters: `${t.prefix}:slot-waiters`,
    });
    const a = slotsOf(1, 'account-a');
    const b = slotsOf(1, 'account-b');
    expect(await a.acquire(line(slotHolder({ id: 'job', run: 1 })), 60_000)).toBe(true);
    expect(await b.acquire(line(slotHolder({ id: 'job', run: 2 })), 60_000)).toBe(true);
    expect(await slotsInUse(t.redis, t.prefix, 'account-a')).toBe(1);
    expect(await slotsInUse(t.redis, t.prefix)).toBe(0);
  });
});
