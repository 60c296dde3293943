import { createTestRedis, startRedisServer, type TestRedis } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRedisReadiness,
  closeQueues,
  createQueues,
  createRedis,
  enqueue,
  type Queues,
} from '../src/index.js';

const id = () => crypto.randomUUID();

describe('queue catalog and registry', () => {
  let t: TestRedis;
  let queues: Queues;
  beforeAll(async () => {
    t = await createTestRedis();
    queues = createQueues(t.redis, t.prefix);
  });
  afterAll(async () => {
    await closeQueues(queues);
    await t.cleanup();
  });

  it('adds valid payloads with their catalog options', async () => {
    const cloneJobId = id();
    await enqueue(queues, 'cloneSubmit', [
      { jobId: cloneJobId, data: { cloneJobId, tenantId: id(), run: 1 } },
    ]);
    const job = await queues.cloneSubmit.getJob(cloneJobId);
    expect(job?.name).toBe('submit');
    expect(job?.opts.removeOnComplete).toEqual({ age: 3600, count: 1000 });
  });

  it('rejects a payload that breaks the schema before anything reaches Redis', async () => {
    const good = id();
    await expect(
      enqueue(queues, 'cloneSubmit', [
        { jobId: good, data: { cloneJobId: good, tenantId: id(), run: 1 } },
        { jobId: 'bad', data: { cloneJobId: 'not-a-uuid', tenantId: id(), run: 0 } as never },
      ]),
    ).rejects.toThrow();
    expect(await queues.cloneSubmit.getJob(good)).toBeUndefined();
    expect(await queues.cloneSubmit.getJob('bad')).toBeUndefined();
  });
});

describe('Redis readiness', () => {
  it('passes on a noeviction Redis', async () => {
    const t = await createTestRedis();
    try {
      expect(await checkRedisReadiness(t.redis)).toMatchObject({
        ok: true,
        maxmemoryPolicy: 'noeviction',
      });
    } finally {
      await t.cleanup();
    }
  });

  it('fails on a Redis that may evict keys', async () => {
    const server = await startRedisServer(['--maxmemory-policy', 'allkeys-lru']);
    const redis = createRedis(server.url, 'producer');
    try {
      const result = await checkRedisReadiness(redis);
      expect(result.ok).toBe(false);
      expect(result.maxmemoryPolicy).toBe('allkeys-lru');
      expect(result.error).toMatch(/noeviction/);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it('fails when Redis does not answer', async () => {
    const server = await startRedisServer();
    await server.stop();
    const redis = createRedis(server.url, 'producer');
    try {
      expect((await checkRedisReadiness(redis)).ok).toBe(false);
    } finally {
      redis.disconnect();
    }
  });
});
