import { createTestRedis, type TestRedis } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FairSlots, type FairWaiter, fairOrderKey, type Grant } from '../src/index.js';

/*
 * A deterministic fake upstream on a virtual clock: every task holds its slot for exactly its
 * cost, then releases it, and each release is one decision of the real scripts on real Redis.
 * Shares are measured in slot-milliseconds over a window in which the tenants are backlogged.
 */

const LIMIT = 3;
// Virtual leases far longer than any task: here no lease expires, every slot is released.
const LEASE_MS = 3_600_000;

interface Line extends FairWaiter {
  costMs: number;
}

interface Task {
  tenant: string;
  holder: string;
  start: number;
  end: number;
}

class FakeUpstream {
  now = 1_000_000;
  readonly slots: FairSlots;
  readonly tasks: Task[] = [];
  private readonly running: Task[] = [];
  private readonly lines = new Map<string, Line>();
  private serial = 0;

  constructor(redis: TestRedis, account: string) {
    this.slots = new FairSlots({
      redis: redis.redis,
      prefix: redis.prefix,
      account,
      limit: LIMIT,
      grantLeaseMs: LEASE_MS,
      now: () => this.now,
    });
  }

  /** Lines of one tenant, in batch order, as a backlog the reconciler would rebuild. */
  lineSet(tenant: string, count: number, costMs: number, weight = 1): Line[] {
    const batch = this.serial++;
    return Array.from({ length: count }, (_, i) => ({
      tenant,
      bullJobId: `${tenant}-${batch}-${i}`,
      holder: `${tenant}-${batch}-${i}:1`,
      priority: 10,
      orderKey: fairOrderKey(batch, i),
      costSeconds: costMs / 1_000,
      weight,
      costMs,
    }));
  }

  /** A backlog arriving at once. */
  async backlog(lines: Line[]): Promise<void> {
    for (const line of lines) this.lines.set(line.bullJobId, line);
    const { promote } = await this.slots.rebuild(lines);
    this.start(promote);
  }

  /** One line arriving as a submit job does: ask, and park when not next. */
  async arrive(line: Line): Promise<boolean> {
    this.lines.set(line.bullJobId, line);
    const asked = await this.slots.acquire(line, LEASE_MS);
    if (asked.granted) this.start([{ ...line, leaseExpiry: this.now + LEASE_MS }]);
    this.start(asked.promote);
    if (!asked.granted) this.start(await this.slots.parked(line));
    return asked.granted;
  }

  /** Runs tasks to completion, one release (one decision) each, until the clock reaches `until`. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      const next = this.running[0];
      if (!next || next.end > until) break;
      this.running.shift();
      this.now = next.end;
      this.start(await this.slots.release(next.holder));
    }
    this.now = until;
  }

  /** Each tenant's share of the slot time used within [from, to]. */
  shares(from: number, to: number): Map<string, number> {
    const used = new Map<string, number>();
    let total = 0;
    for (const task of [...this.tasks, ...this.running]) {
      const ms = Math.max(0, Math.min(task.end, to) - Math.max(task.start, from));
      used.set(task.tenant, (used.get(task.tenant) ?? 0) + ms);
      total += ms;
    }
    return new Map([...used].map(([tenant, ms]) => [tenant, ms / total]));
  }

  /** Slot time used within [from, to], over the slot time there was. */
  utilisation(from: number, to: number): number {
    let ms = 0;
    for (const task of [...this.tasks, ...this.running]) {
      ms += Math.max(0, Math.min(task.end, to) - Math.max(task.start, from));
    }
    return ms / (LIMIT * (to - from));
  }

  firstStart(tenant: string): number | undefined {
    return this.tasks.find((task) => task.tenant === tenant)?.start;
  }

  private start(grants: Grant[]): void {
    for (const grant of grants) {
      const line = this.lines.get(grant.bullJobId);
      if (!line) throw new Error(`granted an unknown line ${grant.bullJobId}`);
      const task = {
        tenant: line.tenant,
        holder: line.holder,
        start: this.now,
        end: this.now + line.costMs,
      };
      this.tasks.push(task);
      this.running.push(task);
      this.running.sort((a, b) => a.end - b.end || a.holder.localeCompare(b.holder));
      // The scheduler's own claim: never more tasks than slots.
      expect(this.running.length).toBeLessThanOrEqual(LIMIT);
    }
  }
}

describe('fair shares of upstream slots (simulated upstream)', () => {
  let t: TestRedis;
  beforeAll(async () => {
    t = await createTestRedis();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  const WINDOW_MS = 300_000;

  it('gives two backlogged tenants of equal weight half the slot-seconds each', async () => {
    const up = new FakeUpstream(t, 'equal');
    const from = up.now;
    await up.backlog([...up.lineSet('a', 2_000, 1_000), ...up.lineSet('b', 2_000, 1_000)]);
    await up.runUntil(from + WINDOW_MS);
    const shares = up.shares(from, up.now);
    expect(shares.get('a')).toBeCloseTo(0.5, 1);
    expect(Math.abs((shares.get('a') ?? 0) - 0.5)).toBeLessThanOrEqual(0.05);
    expect(up.utilisation(from, up.now)).toBe(1);
  });

  it('gives weights 3:1 three quarters and one quarter', async () => {
    const up = new FakeUpstream(t, 'weighted');
    const from = up.now;
    await up.backlog([
      ...up.lineSet('heavy', 2_000, 1_000, 3),
      ...up.lineSet('light', 2_000, 1_000, 1),
    ]);
    await up.runUntil(from + WINDOW_MS);
    const share = up.shares(from, up.now).get('heavy') ?? 0;
    expect(Math.abs(share - 0.75)).toBeLessThanOrEqual(0.05);
  });

  it('shares slot-seconds, not tasks, between a tenant of long lines and one of short lines', async () => {
    const up = new FakeUpstream(t, 'costs');
    const from = up.now;
    await up.backlog([...up.lineSet('short', 2_000, 500), ...up.lineSet('long', 500, 4_000)]);
    await up.runUntil(from + WINDOW_MS);
    const share = up.shares(from, up.now).get('short') ?? 0;
    expect(Math.abs(share - 0.5)).toBeLessThanOrEqual(0.05);
    // Eight short tasks for every long one: a count of tasks would have been far from fair.
    const count = (tenant: string) => up.tasks.filter((task) => task.tenant === tenant).length;
    expect(count('short') / count('long')).toBeGreaterThan(6);
  });

  it('starts a tenant arriving behind a 10,000-line flood at the next free slot', async () => {
    const up = new FakeUpstream(t, 'flood');
    const taskMs = 2_000;
    await up.backlog(up.lineSet('flood', 10_000, taskMs));
    await up.runUntil(up.now + 60_000 + 333);
    const arrival = up.now;
    const [line] = up.lineSet('newcomer', 1, taskMs);
    if (!line) throw new Error('no line');
    expect(await up.arrive(line)).toBe(false);
    expect(await up.slots.waiting()).toBeGreaterThan(9_000);
    const before = up.tasks.length;
    await up.runUntil(arrival + taskMs);
    // The very next slot freed after it arrived went to it, within one task duration.
    expect(up.tasks[before]?.tenant).toBe('newcomer');
    const started = up.firstStart('newcomer') ?? Number.POSITIVE_INFINITY;
    expect(started - arrival).toBeLessThanOrEqual(taskMs);
  });

  it('lets one tenant use every slot alone, and gives no credit for the time another was away', async () => {
    const up = new FakeUpstream(t, 'conserving');
    const start = up.now;
    await up.backlog([...up.lineSet('steady', 5_000, 1_000), ...up.lineSet('away', 30, 1_000)]);
    // 'away' runs out after its 30 lines, and 'steady' is alone for a long while.
    await up.runUntil(start + 200_000);
    const aloneFrom = start + 30_000;
    expect(up.shares(aloneFrom, up.now).get('steady')).toBe(1);
    expect(up.utilisation(start, up.now)).toBe(1);
    // Back with a backlog: it gets its half from now on, not the 170 s it did not use.
    const back = up.now;
    await up.backlog(up.lineSet('away', 2_000, 1_000));
    await up.runUntil(back + 60_000);
    const share = up.shares(back, up.now).get('away') ?? 0;
    expect(Math.abs(share - 0.5)).toBeLessThanOrEqual(0.05);
  });

  it('keeps four tenants of mixed line lengths near a perfect Jain index', async () => {
    const up = new FakeUpstream(t, 'jain');
    const from = up.now;
    const costs = { narration: 3_000, singles: 700, mixed: 1_500, tiny: 300 };
    await up.backlog(
      Object.entries(costs).flatMap(([tenant, ms]) => up.lineSet(tenant, 3_000, ms)),
    );
    await up.runUntil(from + WINDOW_MS);
    const shares = [...up.shares(from, up.now).values()];
    const sum = shares.reduce((a, b) => a + b, 0);
    const jain = (sum * sum) / (shares.length * shares.reduce((a, b) => a + b * b, 0));
    expect(shares).toHaveLength(4);
    expect(jain).toBeGreaterThanOrEqual(0.98);
  });
});
