import { appendCloneJobEvent, insertDeadLetter, transitionCloneJob } from '@voxline/db';
import { createLogger } from '@voxline/logger';
import { createMetrics } from '@voxline/metrics';
import {
  catalog,
  closeQueues,
  createQueues,
  createRedis,
  jobIds,
  QUEUE_NAMES,
  UpstreamSlots,
} from '@voxline/queue';
import { startRedisServer } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { JOB_STATES } from '../src/services/metrics.js';
import { ADMIN_TOKEN, type Api, cloneBody, startApi, WEBHOOK_URL } from './harness.js';

const VIEWER_TOKEN = 'test-viewer-token-0123456789';
const METRICS_TOKEN = 'test-metrics-token-0123456789';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Prometheus text as `name{labels}` → value, for the samples (not HELP/TYPE lines). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) out.set(match[1], Number(match[2]));
  }
  return out;
}

describe('/metrics', () => {
  let api: Api;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    api = await startApi({ ADMIN_READONLY_TOKEN: VIEWER_TOKEN, METRICS_TOKEN });
    ({ key, id: tenantId } = await api.tenant());
  });
  afterAll(async () => {
    await api?.close();
  });

  const scrape = async (authorization = `Bearer ${METRICS_TOKEN}`) => {
    const res = await api.request('GET', '/metrics', { headers: { authorization } });
    expect(res.statusCode).toBe(200);
    return samples(res.body);
  };

  it('refuses anonymous and wrong credentials, with a Basic challenge', async () => {
    for (const authorization of [
      undefined,
      'Bearer nope-nope-nope-nope-nope',
      basic('admin', VIEWER_TOKEN),
      basic('metrics', METRICS_TOKEN),
      `Bearer ${key}`,
    ]) {
      const res = await api.request('GET', '/metrics', {
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="voxline", charset="UTF-8"');
      expect(res.json().error.code).toBe('unauthorized');
    }
  });

  it('answers METRICS_TOKEN and every operator credential in Prometheus text format', async () => {
    for (const authorization of [
      `Bearer ${METRICS_TOKEN}`,
      `Bearer ${ADMIN_TOKEN}`,
      basic('admin', ADMIN_TOKEN),
      `Bearer ${VIEWER_TOKEN}`,
      basic('viewer', VIEWER_TOKEN),
    ]) {
      const res = await api.request('GET', '/metrics', { headers: { authorization } });
      expect(res.statusCode, authorization).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(res.body).toContain('# TYPE voxline_queue_jobs gauge');
      expect(res.body).toContain('process_cpu_seconds_total');
      expect(res.body).toContain('nodejs_eventloop_lag_seconds');
    }
  });

  it('shows the depth of every queue in every state, and both sources up', async () => {
    const metrics = await scrape();
    for (const queue of QUEUE_NAMES) {
      for (const state of JOB_STATES) {
        expect(metrics.get(`voxline_queue_jobs{queue="${queue}",state="${state}"}`)).toBe(0);
      }
    }
    expect(metrics.get('voxline_metrics_source_up{source="redis"}')).toBe(1);
    expect(metrics.get('voxline_metrics_source_up{source="postgres"}')).toBe(1);
    expect(metrics.get('voxline_upstream_slots_limit')).toBe(api.config.RUNNINGHUB_MAX_IN_FLIGHT);
  });

  it('follows the backlog, slots, dead letters, webhooks and ambiguous submits', async () => {
    const before = await scrape();
    const db = api.database.db;
    const clone = async (body = cloneBody()) =>
      (await api.request('POST', '/v1/clones', { key, body })).json().id as string;

    const queued = await clone();
    const failed = await clone();
    const canceled = await clone(cloneBody({ webhook_url: WEBHOOK_URL }));
    await transitionCloneJob(db, { tenantId, id: failed, from: ['queued'], to: 'failed' });
    await insertDeadLetter(db, {
      tenantId,
      cloneJobId: failed,
      batchId: null,
      sourceQueue: 'clone-poll',
      bullJobId: jobIds.poll(failed, 1),
      run: 1,
      attempts: 3,
      errorCode: '1011',
      errorMessage: 'upstream failed',
      lastResponse: null,
    });
    await appendCloneJobEvent(db, {
      tenantId,
      cloneJobId: queued,
      kind: 'ambiguous_submit',
      detail: { policy: 'resubmit' },
    });
    // The cancel writes a clone.canceled event and its delivery to the clone's webhook_url.
    expect((await api.request('POST', `/v1/clones/${canceled}/cancel`, { key })).statusCode).toBe(
      200,
    );
    const slots = new UpstreamSlots({
      redis: api.redis,
      prefix: api.config.QUEUE_PREFIX,
      limit: 3,
      submitQueue: api.queues.cloneSubmit,
    });
    await slots.hold(queued, 60_000);

    const after = await scrape(`Bearer ${ADMIN_TOKEN}`);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    // Interactive clones are prioritized jobs in BullMQ; the canceled one's job stays queued
    // until a worker sees it canceled.
    expect(delta('voxline_queue_jobs{queue="clone-submit",state="prioritized"}')).toBe(3);
    expect(delta('voxline_clone_jobs_active{status="queued"}')).toBe(1);
    expect(after.get('voxline_dead_letters_pending{error_code="1011"}')).toBe(1);
    expect(delta('voxline_ambiguous_submits_recorded{policy="resubmit"}')).toBe(1);
    expect(delta('voxline_webhook_deliveries_pending{retrying="false"}')).toBe(1);
    expect(after.get('voxline_upstream_slots_in_use')).toBe(1);
    expect(after.get('voxline_upstream_tasks_in_flight{account="default"}')).toBe(1);
    await slots.release(queued);
  });

  it('counts the jobs of a paused queue as waiting, with no paused series', async () => {
    const queue = api.queues.maintenance;
    const before = await scrape();
    await queue.pause();
    try {
      await queue.add(catalog.maintenance.job, { task: 'reconcile' });
      const after = await scrape();
      const waiting = 'voxline_queue_jobs{queue="maintenance",state="waiting"}';
      expect((after.get(waiting) ?? 0) - (before.get(waiting) ?? 0)).toBe(1);
      expect([...after.keys()].filter((name) => name.includes('state="paused"'))).toEqual([]);
    } finally {
      await queue.obliterate({ force: true });
      await queue.resume();
    }
  });
});

describe('/metrics in one process with the worker', () => {
  it('shares the registry it is given, and builds twice on it', async () => {
    const api = await startApi();
    const metrics = createMetrics();
    metrics.upstreamRequests.inc({ endpoint: 'submit', outcome: 'ok', code: '' });
    const logger = createLogger({ name: 'api-test', level: 'silent' });
    const deps = { config: api.config, db: api.database.db, redis: api.redis, queues: api.queues };
    const first = await buildApp({ ...deps, logger, metrics });
    const second = await buildApp({ ...deps, logger, metrics });
    try {
      const res = await first.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.statusCode).toBe(200);
      expect(
        samples(res.body).get(
          'voxline_upstream_requests_total{endpoint="submit",outcome="ok",code=""}',
        ),
      ).toBe(1);
    } finally {
      await first.close();
      await second.close();
      await api.close();
    }
  });
});

describe('/metrics while Redis is down', () => {
  it('still answers, with Redis reported down and no stale queue depths', async () => {
    const api = await startApi();
    const dead = await startRedisServer(['--maxmemory-policy', 'noeviction']);
    const redis = createRedis(dead.url, 'producer');
    const queues = createQueues(redis, '{vxt-metrics-dead}');
    await queues.cloneSubmit.waitUntilReady();
    await dead.stop();
    const app = await buildApp({
      config: api.config,
      db: api.database.db,
      redis,
      queues,
      logger: createLogger({ name: 'api-test', level: 'silent' }),
    });
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.statusCode).toBe(200);
      const metrics = samples(res.body);
      expect(metrics.get('voxline_metrics_source_up{source="redis"}')).toBe(0);
      expect(metrics.get('voxline_metrics_source_up{source="postgres"}')).toBe(1);
      expect([...metrics.keys()].some((k) => k.startsWith('voxline_queue_jobs'))).toBe(false);
      expect(metrics.get('voxline_clone_jobs_active{status="queued"}')).toBe(0);
    } finally {
      await app.close();
      await closeQueues(queues).catch(() => {});
      redis.disconnect();
      await dead.stop();
      await api.close();
    }
  });
});
