import { createTestRedis, type TestRedis } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catalog,
  closeQueues,
  createQueues,
  FairSlots,
  type FairWaiter,
  fairOrderKey,
  fairSlotKeys,
  handOver,
  measureFairDecision,
  type Queues,
  slotKeys,
} from '../src/index.js';

const GRANT_LEASE_MS = 90_000;

describe('fair slots: the semaphore, order within a tenant, crashes and rebuilds', () => {
  let t: TestRedis;
  let queues: Queues;
  // A clock the tests move past lease expiries instead of waiting for them.
  let now = Date.now();
  const slotsOf = (limit: number, account: string) =>
    new FairSlots({
      redis: t.redis,
      prefix: t.prefix,
      account,
      limit,
      grantLeaseMs: GRANT_LEASE_MS,
      now: () => now,
    });
  const waiter = (name: string, extra: Partial<FairWaiter> = {}): FairWaiter => ({
    tenant: 'tenant-a',
    bullJobId: name,
    holder: `${name}:1`,
    priority: 10,
    orderKey: fairOrderKey(1_000, 0),
    costSeconds: 5,
    weight: 1,
    ...extra,
  });
  // A submit job that found the slots full and parked itself: delayed, with a long safety delay.
  const parkedJob = async () =>
    (await queues.cloneSubmit.add(catalog.cloneSubmit.job, {}, { delay: 600_000 })).id as string;

  beforeAll(async () => {
    t = await createTestRedis();
    queues = createQueues(t.redis, t.prefix);
  });
  afterAll(async () => {
    await closeQueues(queues);
    await t.cleanup();
  });

  it('keeps every key under the queue prefix, sharing the lease set of UpstreamSlots', () => {
    const keys = fairSlotKeys(t.prefix, 'tenant-key');
    expect(keys.leases).toBe(slotKeys(t.prefix, 'tenant-key').leases);
    for (const key of Object.values(keys)) expect(key.startsWith(`${t.prefix}:`)).toBe(true);
    expect(fairSlotKeys(t.prefix).leases).toBe(`${t.prefix}:upstream-slots`);
  });

  it('never grants more than the limit to racing jobs, and registers the rest', async () => {
    const slots = slotsOf(3, 'race');
    const asked = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        slots.acquire(waiter(`race-${i}`, { tenant: `tenant-${i % 4}` }), 60_000),
      ),
    );
    const granted = asked.filter((a) => a.granted).length;
    const promoted = asked.flatMap((a) => a.promote).length;
    expect(granted + promoted).toBe(3);
    expect(await slots.inUse()).toBe(3);
    expect(await slots.waiting()).toBe(17);
    // A released slot goes to exactly one waiter, and the count holds.
    const holder = `race-${asked.findIndex((a) => a.granted)}:1`;
    expect(await slots.release(holder)).toHaveLength(1);
    expect(await slots.inUse()).toBe(3);
    expect(await slots.waiting()).toBe(16);
  });

  it('renews a live lease only, holds past the limit, and reclaims expired leases', async () => {
    const slots = slotsOf(1, 'leases');
    expect(await slots.renew('nobody:1', 60_000)).toBe(false);
    expect((await slots.acquire(waiter('first'), 60_000)).granted).toBe(true);
    expect(await slots.renew('first:1', 120_000)).toBe(true);
    await slots.hold('adopted:1', 60_000);
    expect(await slots.inUse()).toBe(2);
    now += 61_000;
    // adopted's lease lapsed; first's was renewed and still counts, so the set is full.
    expect((await slots.acquire(waiter('second'), 60_000)).granted).toBe(false);
    expect(await slots.inUse()).toBe(1);
  });

  it('serves interactive lines first, then batch lines in batch and line order', async () => {
    const slots = slotsOf(1, 'order');
    expect((await slots.acquire(waiter('busy', { tenant: 'other' }), 60_000)).granted).toBe(true);
    const lines: FairWaiter[] = [];
    for (const [batch, created] of [
      ['y', 2_000],
      ['x', 1_000],
    ] as const) {
      for (let i = 0; i < 5; i++) {
        lines.push(waiter(`${batch}${i}`, { orderKey: fairOrderKey(created, i) }));
      }
    }
    lines.push(waiter('i0', { priority: 1, orderKey: fairOrderKey(3_000) }));
    lines.push(waiter('i1', { priority: 1, orderKey: fairOrderKey(3_001) }));
    // They arrive in an order of their own; a batch's 10th line sorts after its 9th.
    const shuffled = [...lines].sort((a, b) =>
      (a.bullJobId.at(-1) ?? '').localeCompare(b.bullJobId.at(-1) ?? ''),
    );
    for (const line of shuffled) expect((await slots.acquire(line, 60_000)).granted).toBe(false);
    const served: string[] = [];
    let holder = 'busy:1';
    for (;;) {
      const [grant] = await slots.release(holder);
      if (!grant) break;
      served.push(grant.bullJobId);
      holder = grant.holder;
    }
    expect(served).toEqual([
      'i0',
      'i1',
      'x0',
      'x1',
      'x2',
      'x3',
      'x4',
      'y0',
      'y1',
      'y2',
      'y3',
      'y4',
    ]);
    expect(fairOrderKey(5, 10) > fairOrderKey(5, 9)).toBe(true);
  });

  it('loses no line and leaks no slot when the promoter dies between decision and promotion', async () => {
    const slots = slotsOf(1, 'crash');
    expect((await slots.acquire(waiter('runner'), 60_000)).granted).toBe(true);
    const parkedId = await parkedJob();
    const line = waiter(parkedId, { holder: 'line:1' });
    expect((await slots.acquire(line, 60_000)).granted).toBe(false);
    expect(await slots.parked(line)).toEqual([]);

    // The decision ran, and the worker was killed before it promoted anything.
    const [grant] = await slots.release('runner:1');
    expect(grant).toMatchObject({ bullJobId: parkedId, holder: 'line:1' });
    expect(await queues.cloneSubmit.getJobState(parkedId)).toBe('delayed');
    expect(await slots.waiting()).toBe(0);
    expect(await slots.inUse()).toBe(1);
    // Its safety delay fires and the job runs: its slot was taken for it, so it proceeds.
    now += 30_000;
    expect((await slots.acquire(line, 60_000)).granted).toBe(true);

    // Now a grant whose job never comes: canceled while its promotion was lost.
    const ghost = waiter('ghost', { holder: 'ghost:1' });
    const after = waiter('after', { orderKey: fairOrderKey(2_000) });
    for (const w of [ghost, after]) expect((await slots.acquire(w, 60_000)).granted).toBe(false);
    expect(await slots.release('line:1')).toMatchObject([{ bullJobId: 'ghost' }]);
    now += GRANT_LEASE_MS - 1;
    expect(await slots.decide()).toEqual([]);
    now += 2;
    // The lease the grant took lapsed: the slot is free again and goes to the next line.
    expect(await slots.decide()).toMatchObject([{ bullJobId: 'after' }]);
    expect(await slots.inUse()).toBe(1);
  });

  it('promotes a job granted on its way to park, from its own parked call', async () => {
    const slots = slotsOf(1, 'window');
    expect((await slots.acquire(waiter('runner'), 60_000)).granted).toBe(true);
    const parkedId = await parkedJob();
    const line = waiter(parkedId, { holder: 'late:1' });
    expect((await slots.acquire(line, 60_000)).granted).toBe(false);
    // Released before the job was delayed: the promotion of that grant failed (not delayed yet).
    expect(await slots.release('runner:1')).toHaveLength(1);
    const grants = await slots.parked(line);
    expect(grants).toMatchObject([{ bullJobId: parkedId, holder: 'late:1' }]);
    expect(await handOver(queues.cloneSubmit, slots, grants)).toBe(1);
    expect(await queues.cloneSubmit.getJobState(parkedId)).not.toBe('delayed');
  });

  it('hands a grant whose job is gone to the next line', async () => {
    const slots = slotsOf(1, 'handover');
    expect((await slots.acquire(waiter('runner'), 60_000)).granted).toBe(true);
    const goneId = await parkedJob();
    const nextId = await parkedJob();
    const gone = waiter(goneId, { holder: 'gone:1', orderKey: fairOrderKey(1_000, 1) });
    const next = waiter(nextId, { holder: 'next:1', orderKey: fairOrderKey(1_000, 2) });
    for (const w of [gone, next]) {
      expect((await slots.acquire(w, 60_000)).granted).toBe(false);
      await slots.parked(w);
    }
    await (await queues.cloneSubmit.getJob(goneId))?.remove();
    const grants = await slots.release('runner:1');
    expect(grants).toMatchObject([{ bullJobId: goneId }]);
    expect(await handOver(queues.cloneSubmit, slots, grants)).toBe(1);
    expect(await queues.cloneSubmit.getJobState(nextId)).not.toBe('delayed');
    expect(await slots.inUse()).toBe(1);
    expect((await slots.acquire(next, 60_000)).granted).toBe(true);
  });

  it('takes a canceled line out, and its tenant out of the ordering', async () => {
    const slots = slotsOf(1, 'remove');
    expect((await slots.acquire(waiter('runner'), 60_000)).granted).toBe(true);
    expect((await slots.acquire(waiter('canceled', { tenant: 'b' }), 60_000)).granted).toBe(false);
    expect(await slots.tenantsWaiting()).toBe(1);
    expect(await slots.remove('canceled')).toBe(true);
    expect(await slots.remove('canceled')).toBe(false);
    expect(await slots.tenantsWaiting()).toBe(0);
    expect(await slots.release('runner:1')).toEqual([]);
  });

  it('applies an admin weight change to the lines already waiting', async () => {
    const slots = slotsOf(1, 'weight');
    const rows = ['a', 'b'].flatMap((tenant) =>
      Array.from({ length: 20 }, (_, i) =>
        waiter(`${tenant}-w${i}`, { tenant, orderKey: fairOrderKey(1_000, i) }),
      ),
    );
    const { promote } = await slots.rebuild(rows);
    await slots.setWeight('a', 3);
    let holder = promote[0]?.holder ?? '';
    const served: string[] = [];
    for (let i = 0; i < 16; i++) {
      const [grant] = await slots.release(holder);
      if (!grant) throw new Error('ran dry');
      served.push(grant.tenant);
      holder = grant.holder;
    }
    // Three of every four grants, give or take the grant 'a' got before the change.
    const toA = served.filter((tenant) => tenant === 'a').length;
    expect(Math.abs(toA - 12)).toBeLessThanOrEqual(1);
    await expect(slots.setWeight('a', 0)).rejects.toThrow(/weight/);
  });

  it('rebuilds the waiting lists from Postgres rows idempotently', async () => {
    const slots = slotsOf(2, 'rebuild');
    const rows = ['a', 'b', 'c'].flatMap((tenant) =>
      Array.from({ length: 50 }, (_, i) =>
        waiter(`${tenant}-${i}`, {
          tenant,
          orderKey: fairOrderKey(1_000, i),
          weight: tenant === 'a' ? 2 : 1,
        }),
      ),
    );
    const first = await slots.rebuild(rows);
    expect(first.added).toBe(150);
    expect(first.promote).toHaveLength(2);
    const snapshot = async () => ({
      tenants: await t.redis.zrange(slots.keys.tenants, 0, -1, 'WITHSCORES'),
      waiting: await t.redis.zrange(slots.keys.waiting, 0, -1),
      b: await slots.waiting('b'),
    });
    const before = await snapshot();
    expect(before.waiting).toHaveLength(148);

    const again = await slots.rebuild(rows);
    expect(again).toEqual({ added: 0, promote: [] });
    expect(await snapshot()).toEqual(before);

    // Redis lost the lists (not the leases): the two granted lines are not waiting again.
    await t.redis.del(slots.keys.waiting, slots.keys.jobs, slots.keys.tenants);
    expect((await slots.rebuild(rows)).added).toBe(148);
    expect((await snapshot()).waiting).toEqual(before.waiting);
    expect(await slots.waiting()).toBe(148);
  });

  it('measures the cost of one decision for the bench suite', async () => {
    const cost = await measureFairDecision(t.redis, t.prefix, { tenants: 10, decisions: 200 });
    expect(cost).toMatchObject({ tenants: 10, decisions: 200 });
    expect(cost.p99Micros).toBeGreaterThanOrEqual(cost.p50Micros);
    expect(await t.redis.keys(`${t.prefix}:fair-slots:bench-*`)).toEqual([]);
  });
});
