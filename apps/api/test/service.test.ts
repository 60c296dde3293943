import { Writable } from 'node:stream';
import { loadConfig } from '@voxline/config';
import { createDb, findTenantByApiKey } from '@voxline/db';
import { createLogger } from '@voxline/logger';
import { closeQueues, createQueues, createRedis } from '@voxline/queue';
import { freePort, startRedisServer, type ThrowawayRedis } from '@voxline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { ADMIN_TOKEN, type Api, cloneBody, counts, startApi } from './harness.js';

describe('admin, health and the error envelope', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('creates a tenant only with the admin token, showing the key once', async () => {
    const anonymous = await api.request('POST', '/admin/tenants', { body: { name: 'x' } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('unauthorized');
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic/);
    const wrong = await api.request('POST', '/admin/tenants', {
      body: { name: 'x' },
      headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
    });
    expect(wrong.statusCode).toBe(401);
    expect((await counts(api.database)).jobs).toBe(0);

    const res = await api.request('POST', '/admin/tenants', {
      body: { name: 'Acme Audio' },
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: 'Acme Audio', tenant_id: expect.any(String) });
    expect(body.api_key).toMatch(/^vxl_/);
    expect(body.webhook_secret).toMatch(/^whsec_/);
    expect((await findTenantByApiKey(api.database.db, { apiKey: body.api_key }))?.id).toBe(
      body.tenant_id,
    );
    const { rows } = await api.database.pool.query('select key_hash from api_keys');
    expect(JSON.stringify(rows)).not.toContain(body.api_key);

    const basic = await api.request('POST', '/admin/tenants', {
      body: { name: 'Via Basic' },
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    expect(basic.statusCode).toBe(201);

    const invalid = await api.request('POST', '/admin/tenants', {
      body: { name: '  ' },
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.details[0].path).toBe('name');
  });

  it('answers /healthz and /readyz', async () => {
    const health = await api.request('GET', '/healthz');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await api.request('GET', '/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ok',
      checks: {
        postgres: { ok: true },
        redis: { ok: true, maxmemory_policy: 'noeviction' },
        migrations: { ok: true, pending: [] },
      },
    });
  });

  it('answers unknown routes with a JSON 404', async () => {
    for (const url of ['/nope', '/v1/nope', '/admin/nope']) {
      const res = await api.request('GET', url);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.json().error).toMatchObject({ code: 'not_found', details: null });
    }
  });
});

describe('when a backing service is down', () => {
  let api: Api;
  let deadRedis: ThrowawayRedis;
  let app: FastifyInstance;
  let close: () => Promise<void>;

  beforeAll(async () => {
    api = await startApi();
    // A second app on the same database, whose Redis was stopped after it connected.
    deadRedis = await startRedisServer(['--maxmemory-policy', 'noeviction']);
    const redis = createRedis(deadRedis.url, 'producer');
    const queues = createQueues(redis, '{vxt-dead}');
    await queues.cloneSubmit.waitUntilReady();
    await deadRedis.stop();
    app = await buildApp({
      config: api.config,
      db: api.database.db,
      redis,
      queues,
      logger: createLogger({ name: 'api-test', level: 'silent' }),
    });
    close = async () => {
      await app.close();
      await closeQueues(queues).catch(() => {});
      redis.disconnect();
    };
  });
  afterAll(async () => {
    await close?.();
    await deadRedis?.stop();
    await api?.close();
  });

  it('/readyz is 503 naming Redis, while /healthz stays 200', async () => {
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    const body = ready.json();
    expect(body.status).toBe('unavailable');
    expect(body.checks.redis).toMatchObject({ ok: false, error: 'unreachable' });
    expect(body.checks.postgres.ok).toBe(true);
    expect(body.error).toMatchObject({ code: 'unavailable', details: { failed: ['redis'] } });
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
  });

  it('still accepts a clone: the row is durable and the reconciler will enqueue it', async () => {
    const { key } = await api.tenant();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/clones',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: JSON.stringify(cloneBody()),
    });
    expect(res.statusCode).toBe(202);
    const { rows } = await api.database.pool.query('select status from clone_jobs where id = $1', [
      res.json().id,
    ]);
    expect(rows[0].status).toBe('queued');
  });

  it('answers 503 JSON, never a 500 with a stack, when Postgres is unreachable', async () => {
    const port = await freePort();
    const config = loadConfig({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/voxline`,
      REDIS_URL: api.config.REDIS_URL,
      QUEUE_PREFIX: api.config.QUEUE_PREFIX,
      ADMIN_TOKEN,
    });
    const pg = createDb({ url: config.DATABASE_URL });
    const redis = createRedis(config.REDIS_URL, 'producer');
    const queues = createQueues(redis, config.QUEUE_PREFIX);
    const down = await buildApp({
      config,
      db: pg.db,
      redis,
      queues,
      logger: createLogger({ name: 'api-test', level: 'silent' }),
    });
    try {
      const res = await down.inject({
        method: 'POST',
        url: '/v1/clones',
        headers: {
          authorization: `Bearer vxl_${'a'.repeat(43)}`,
          'content-type': 'application/json',
        },
        payload: JSON.stringify(cloneBody()),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        error: { code: 'unavailable', message: expect.any(String), details: null },
      });
      expect(res.body).not.toMatch(/ECONNREFUSED|at .*\.js/);
      const admin = await down.inject({
        method: 'POST',
        url: '/admin/tenants',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        payload: '{"name":"x"}',
      });
      expect(admin.statusCode).toBe(503);
      const ready = await down.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks.postgres).toEqual({ ok: false, error: 'unreachable' });
    } finally {
      await down.close();
      await closeQueues(queues);
      redis.disconnect();
      await pg.close();
    }
  });
});

describe('request logs', () => {
  it('carry the tenant id and never the API key or admin token', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const api = await startApi();
    const logger = createLogger({
      name: 'api-test',
      level: 'info',
      destination,
      secrets: [ADMIN_TOKEN],
    });
    const app = await buildApp({
      config: api.config,
      db: api.database.db,
      redis: api.redis,
      queues: api.queues,
      logger,
    });
    try {
      const created = await app.inject({
        method: 'POST',
        url: '/admin/tenants',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        payload: '{"name":"logged"}',
      });
      const { api_key: key, tenant_id: tenantId } = created.json();
      await app.inject({
        method: 'POST',
        url: '/v1/clones',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        payload: JSON.stringify(cloneBody()),
      });
      // Pollers (probes, scrapes, Bull Board's refresh) stay out of the info log unless they fail.
      for (const url of ['/healthz', '/admin/queues/api/queues', '/metrics']) {
        const res = await app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(res.statusCode, url).toBe(200);
      }
      await app.inject({ method: 'GET', url: '/admin/queues/api/queues' }); // 401: logged
      const all = lines.join('');
      expect(all).toContain('request completed');
      expect(all).toContain(tenantId);
      expect(all).not.toContain(key);
      expect(all).not.toContain(ADMIN_TOKEN);
      const completed = lines
        .map((line) => JSON.parse(line))
        .filter((line) => line.msg === 'request completed');
      expect(completed.map((line) => [line.method, line.url, line.statusCode])).toEqual([
        ['POST', '/admin/tenants', 201],
        ['POST', '/v1/clones', 202],
        ['GET', '/admin/queues/api/queues', 401],
      ]);
    } finally {
      await app.close();
      await api.close();
    }
  });
});
