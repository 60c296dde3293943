import { batches } from '@voxline/db';
import { checkRedisReadiness, createRedis, slotKeys } from '@voxline/queue';
import { startRedisCluster, type ThrowawayCluster, waitFor } from '@voxline/testing';
import { eq } from 'drizzle-orm';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const LINES = 60;

/** Every key of `prefix` on each master, by the master's port. */
async function keysByMaster(cluster: ThrowawayCluster, prefix: string) {
  const found = new Map<number, string[]>();
  for (const node of await cluster.topology()) {
    if (node.role !== 'master') continue;
    const redis = new Redis({ host: '127.0.0.1', port: node.port, maxRetriesPerRequest: 1 });
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      if (keys.length) found.set(node.port, keys);
    } finally {
      redis.disconnect();
    }
  }
  return found;
}

describe('the pipeline on a Redis Cluster (3 masters, 3 replicas)', () => {
  let cluster: ThrowawayCluster;
  let h: Harness;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    h = await startHarness({
      env: { REDIS_CLUSTER_NODES: cluster.seeds },
      // Long enough tasks that the batch is still in flight when the master fails over.
      sim: { durations: { baseMs: 200, perCharMs: 2, sigma: 0.2 }, maxInFlight: 3 },
    });
  });
  afterAll(async () => {
    await h?.close();
    await cluster?.stop();
  });

  it('takes a batch to succeeded, every line once, across a failover of its master', async () => {
    expect(h.runtime.context.redis).toBeInstanceOf(Cluster);
    const prefix = h.config.QUEUE_PREFIX;
    const texts = Array.from({ length: LINES }, (_, i) => `Line ${i} of the cluster batch.`);
    const { ids, batchId } = await h.submit(texts, { batch: true });

    const before = await waitFor(
      'part of the batch to succeed',
      async () => {
        const done = (await h.jobs(ids)).filter((r) => r.status === 'succeeded').length;
        return done >= 5 ? done : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    expect(before).toBeLessThan(LINES);
    const { from, to } = await cluster.failover(prefix);
    expect(await cluster.masterOf(prefix)).toBe(to);
    expect(to).not.toBe(from);
    expect((await h.jobs(ids)).filter((r) => r.status === 'succeeded').length).toBeLessThan(LINES);

    const rows = await h.waitTerminal(ids, 120_000);
    expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'succeeded'));
    expect(new Set(rows.map((r) => r.upstreamTaskId)).size).toBe(LINES);
    const stats = h.sim.stats();
    expect(stats.accepted).toBe(LINES);
    expect(stats.duplicateSubmissions).toBe(0);
    // The last line's step completes the batch just after its own transition commits.
    await waitFor('the batch to complete', async () => {
      const [batch] = await h.db.db
        .select()
        .from(batches)
        .where(eq(batches.id, batchId as string));
      return batch?.status === 'completed';
    });
    await waitFor('every upstream slot to be released', async () =>
      (await h.runtime.context.slots.inUse()) === 0 ? true : undefined,
    );
  });

  it('keeps every key of the prefix, queues and slots alike, in one hash slot', async () => {
    const prefix = h.config.QUEUE_PREFIX;
    const byMaster = await keysByMaster(cluster, prefix);
    expect([...byMaster.keys()]).toEqual([await cluster.masterOf(prefix)]);
    const keys = [...byMaster.values()].flat();
    expect(keys).toContain(`${prefix}:clone-submit:meta`);
    const slot = await cluster.keySlot(prefix);
    // The slot sets are empty (so absent) once the batch is done: their names are checked.
    const { leases, waiters } = slotKeys(prefix);
    const names = [...keys, leases, waiters, slotKeys(prefix, 'another-account').leases];
    const slots = new Set(await Promise.all(names.map((k) => cluster.keySlot(k))));
    expect([...slots]).toEqual([slot]);
  });

  it("answers the API's readiness check through a producer connection, asking every master", async () => {
    const redis = createRedis({ cluster: h.config.REDIS_CLUSTER_NODES ?? [] }, 'producer');
    try {
      expect(redis).toBeInstanceOf(Cluster);
      expect(await checkRedisReadiness(redis)).toEqual({ ok: true, maxmemoryPolicy: 'noeviction' });
      const [evicting] = (await cluster.topology()).filter((n) => n.role === 'master');
      const node = new Redis({ host: '127.0.0.1', port: evicting?.port as number });
      try {
        await node.config('SET', 'maxmemory-policy', 'allkeys-lru');
        expect(await checkRedisReadiness(redis)).toMatchObject({
          ok: false,
          maxmemoryPolicy: 'allkeys-lru',
        });
      } finally {
        await node.config('SET', 'maxmemory-policy', 'noeviction');
        node.disconnect();
      }
    } finally {
      redis.disconnect();
    }
  });
});
