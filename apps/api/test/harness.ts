import { type Config, loadConfig } from '@voxline/config';
import { createLogger } from '@voxline/logger';
import { closeQueues, createQueues, createRedis, type Queues, waitForRedis } from '@voxline/queue';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '@voxline/testing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApp } from '../src/app.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

// Hosts exempt from the SSRF guard so tests never depend on DNS (this machine has no network).
export const AUDIO_URL = 'https://cdn.example.com/voices/narrator.wav';
export const WEBHOOK_URL = 'https://hooks.example.com/voxline';

export interface Api {
  app: FastifyInstance;
  database: TestDatabase;
  testRedis: TestRedis;
  redis: Redis;
  queues: Queues;
  config: Config;
  request(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    options?: { key?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  /** Creates a tenant through the admin route; returns its id and API key. */
  tenant(name?: string): Promise<{ id: string; key: string; webhookSecret: string }>;
  close(): Promise<void>;
}

/** The API in-process on a fresh database and a Redis prefix of its own. */
export async function startApi(env: Record<string, string> = {}): Promise<Api> {
  const database = await createTestDatabase();
  const testRedis = await createTestRedis();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: testRedis.url,
    QUEUE_PREFIX: testRedis.prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    AUDIO_URL_ALLOWLIST: 'cdn.example.com,other.example.com',
    WEBHOOK_ALLOWLIST: 'hooks.example.com',
    ...env,
  });
  const redis = createRedis(config.REDIS_URL, 'producer');
  // Ready before use: a producer connection closed while ioredis runs its ready check (a test
  // that never touched Redis) leaves an unhandled rejection behind.
  await waitForRedis(redis);
  const queues = createQueues(redis, config.QUEUE_PREFIX);
  const logger = createLogger({ name: 'api-test', level: config.LOG_LEVEL });
  const app = await buildApp({ config, db: database.db, redis, queues, logger });
  await app.ready();

  const request: Api['request'] = (method, url, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    return app.inject({
      method,
      url,
      headers,
      ...(options.body !== undefined
        ? {
            payload: typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
          }
        : {}),
    });
  };

  return {
    app,
    database,
    testRedis,
    redis,
    queues,
    config,
    request,
    async tenant(name = 'acme') {
      const res = await request('POST', '/admin/tenants', {
        body: { name },
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      if (res.statusCode !== 201) throw new Error(`tenant creation failed: ${res.body}`);
      const body = res.json() as { tenant_id: string; api_key: string; webhook_secret: string };
      return { id: body.tenant_id, key: body.api_key, webhookSecret: body.webhook_secret };
    },
    async close() {
      await app.close();
      await closeQueues(queues);
      redis.disconnect();
      await testRedis.cleanup();
      await database.drop();
    },
  };
}

export function cloneBody(overrides: Record<string, unknown> = {}) {
  return {
    audio: AUDIO_URL,
    custom_voice_id: 'narrator01',
    text: 'It was a bright cold day in April.',
    ...overrides,
  };
}

/** Row counts of the tables a request may write. */
export async function counts(database: TestDatabase) {
  const { rows } = await database.pool.query<Record<string, string>>(
    `select (select count(*) from clone_jobs) as jobs, (select count(*) from batches) as batches,
            (select count(*) from clone_job_events) as events,
            (select count(*) from voices) as voices,
            (select count(*) from voice_references) as references,
            (select count(*) from voice_events) as voice_events`,
  );
  const row = rows[0] ?? {};
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/** What the worker does when a voice's clone ends, without the worker. */
export async function settleVoice(
  database: TestDatabase,
  voiceId: string,
  outcome: { status: 'ready'; upstreamVoiceId?: string } | { status: 'failed'; code: string },
) {
  if (outcome.status === 'ready') {
    await database.pool.query(
      `update voices set status = 'ready', upstream_voice_id = $2, ready_at = now(),
              last_used_at = now(), expires_at = now() + interval '7 days' where id = $1`,
      [voiceId, outcome.upstreamVoiceId ?? `vx${voiceId.replaceAll('-', '')}-00000001`],
    );
  } else {
    await database.pool.query(
      `update voices set status = 'failed', error_code = $2, error_message = 'clone failed'
        where id = $1`,
      [voiceId, outcome.code],
    );
  }
}

/** Creates a voice through the API (JSON, the harness's reference URL). */
export async function createVoice(
  api: Api,
  key: string,
  body: Record<string, unknown> = {},
): Promise<{ id: string; status: string; [field: string]: unknown }> {
  const res = await api.request('POST', '/v1/voices', {
    key,
    body: { audio: AUDIO_URL, ...body },
  });
  if (res.statusCode !== 202) throw new Error(`voice creation failed: ${res.body}`);
  return res.json();
}

/** Every job id in the submit queue, whatever its state. */
export async function submitJobIds(queues: Queues): Promise<string[]> {
  const jobs = await queues.cloneSubmit.getJobs(
    ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'],
    0,
    -1,
  );
  return jobs.map((j) => j.id ?? '');
}
