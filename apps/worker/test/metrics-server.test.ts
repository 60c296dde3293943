import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@voxline/logger';
import { createMetrics } from '@voxline/metrics';
import { closeQueues, createQueues, type Queues, UpstreamSlots } from '@voxline/queue';
import { createTestRedis, type TestRedis } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer } from '../src/metrics-server.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const VIEWER_TOKEN = 'test-viewer-token-0123456789';
const METRICS_TOKEN = 'test-metrics-token-0123456789';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe("the worker's /metrics", () => {
  let redis: TestRedis;
  let queues: Queues;
  let slots: UpstreamSlots;
  const servers: Server[] = [];
  beforeAll(async () => {
    redis = await createTestRedis();
    queues = createQueues(redis.redis, redis.prefix);
    slots = new UpstreamSlots({
      redis: redis.redis,
      prefix: redis.prefix,
      limit: 3,
      submitQueue: queues.cloneSubmit,
    });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await closeQueues(queues);
    await redis?.cleanup();
  });

  async function start(tokens: { METRICS_TOKEN?: string; ADMIN_READONLY_TOKEN?: string } = {}) {
    const metrics = createMetrics();
    const server = await startMetricsServer({
      tokens: { ADMIN_TOKEN, ...tokens },
      metrics,
      refresh: async () => {
        metrics.slotsInUse.set(await slots.inUse());
      },
      logger: createLogger({ name: 'worker-metrics-test', level: 'silent' }),
      host: '127.0.0.1',
      port: 0,
    });
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    return (authorization?: string) =>
      fetch(url, { headers: authorization ? { authorization } : {} });
  }

  it('refuses anonymous and wrong credentials when METRICS_TOKEN is unset', async () => {
    const scrape = await start();
    for (const authorization of [
      undefined,
      'Bearer nope-nope-nope-nope-nope',
      basic('viewer', ADMIN_TOKEN),
      basic('root', ADMIN_TOKEN),
      `Bearer ${ADMIN_TOKEN}x`,
    ]) {
      const res = await scrape(authorization);
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="voxline", charset="UTF-8"');
      expect(await res.text()).toBe('');
    }
  });

  it('answers the credentials the API takes, with the slots read at scrape time', async () => {
    await slots.hold('job-1', 60_000);
    const scrape = await start({ METRICS_TOKEN, ADMIN_READONLY_TOKEN: VIEWER_TOKEN });
    for (const authorization of [
      `Bearer ${METRICS_TOKEN}`,
      `Bearer ${ADMIN_TOKEN}`,
      basic('admin', ADMIN_TOKEN),
      `Bearer ${VIEWER_TOKEN}`,
      basic('viewer', VIEWER_TOKEN),
    ]) {
      const res = await scrape(authorization);
      expect(res.status, authorization).toBe(200);
      const body = await res.text();
      expect(body).toContain('process_cpu_seconds_total');
      expect(body).toMatch(/^voxline_upstream_slots_in_use 1$/m);
    }
    // The scrape token is Bearer only, as on the API: it is no operator password.
    expect((await scrape(basic('metrics', METRICS_TOKEN))).status).toBe(401);
    expect((await scrape()).status).toBe(401);
  });
});
