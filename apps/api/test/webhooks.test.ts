import {
  disableWebhookEndpoint,
  findTenantByApiKey,
  finishDelivery,
  getWebhookDelivery,
  insertWebhookAttempt,
} from '@voxline/db';
import { recordEvent, signWebhook } from '@voxline/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, startApi, WEBHOOK_URL } from './harness.js';

interface Endpoint {
  id: string;
  url: string;
  event_types: string[];
  status: string;
  disabled_reason: string | null;
}
interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  clone_id: string | null;
  batch_id: string | null;
  endpoint_id: string | null;
  status: string;
  attempt_count: number;
  attempts: Array<{ attempt: number; status_code: number | null; error: string | null }>;
}

describe('webhook routes', () => {
  let api: Api;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    api = await startApi();
    const tenant = await api.tenant('hooks');
    key = tenant.key;
    tenantId = tenant.id;
  });
  afterAll(async () => {
    await api.close();
  });

  const post = (url: string, body?: unknown, k: string | null = key) =>
    api.request('POST', url, { key: k, ...(body === undefined ? {} : { body }) });
  const get = (url: string, k: string | null = key) => api.request('GET', url, { key: k });
  const del = (url: string, k: string = key) =>
    api.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${k}` } });

  /** An event as the clone worker records it, committed (not enqueued). */
  async function event(
    type: 'clone.succeeded' | 'clone.failed' | 'batch.completed',
    extra: { cloneJobId?: string; batchId?: string; targetUrl?: string; tenant?: string } = {},
  ) {
    return api.database.db.transaction((tx) =>
      recordEvent(tx, {
        tenantId: extra.tenant ?? tenantId,
        type,
        data: { id: extra.cloneJobId ?? 'x' },
        cloneJobId: extra.cloneJobId ?? null,
        batchId: extra.batchId ?? null,
        targetUrl: extra.targetUrl ?? null,
      }),
    );
  }

  it('registers, lists, shows and deletes endpoints', async () => {
    const created = await post('/v1/webhook-endpoints', {
      url: `${WEBHOOK_URL}/a`,
      event_types: ['clone.succeeded', 'batch.completed'],
      description: 'CMS',
    });
    expect(created.statusCode).toBe(201);
    const endpoint = created.json() as Endpoint;
    expect(endpoint).toMatchObject({
      object: 'webhook_endpoint',
      url: `${WEBHOOK_URL}/a`,
      event_types: ['clone.succeeded', 'batch.completed'],
      status: 'enabled',
      disabled_reason: null,
    });
    const all = await post('/v1/webhook-endpoints', { url: `${WEBHOOK_URL}/all` });
    expect((all.json() as Endpoint).event_types).toEqual([
      'clone.succeeded',
      'clone.failed',
      'clone.canceled',
      'batch.completed',
    ]);

    const list = (await get('/v1/webhook-endpoints')).json() as { data: Endpoint[] };
    expect(list.data.map((e) => e.id)).toEqual([endpoint.id, (all.json() as Endpoint).id]);
    expect((await get(`/v1/webhook-endpoints/${endpoint.id}`)).json()).toEqual(endpoint);

    // Another tenant sees none of it.
    const other = await api.tenant('other');
    expect((await get(`/v1/webhook-endpoints/${endpoint.id}`, other.key)).statusCode).toBe(404);
    expect((await del(`/v1/webhook-endpoints/${endpoint.id}`, other.key)).statusCode).toBe(404);
    expect(((await get('/v1/webhook-endpoints', other.key)).json() as { data: [] }).data).toEqual(
      [],
    );

    expect((await del(`/v1/webhook-endpoints/${endpoint.id}`)).statusCode).toBe(204);
    expect((await get(`/v1/webhook-endpoints/${endpoint.id}`)).statusCode).toBe(404);
    expect((await del(`/v1/webhook-endpoints/${endpoint.id}`)).statusCode).toBe(404);
    expect((await del(`/v1/webhook-endpoints/${(all.json() as Endpoint).id}`)).statusCode).toBe(
      204,
    );
  });

  it('shows why an endpoint was disabled', async () => {
    const created = (
      await post('/v1/webhook-endpoints', { url: `${WEBHOOK_URL}/gone` })
    ).json() as Endpoint;
    await disableWebhookEndpoint(api.database.db, {
      id: created.id,
      reason: 'the receiver answered 410 Gone on 2025-01-01T00:00:00.000Z',
      at: new Date(),
    });
    const shown = (await get(`/v1/webhook-endpoints/${created.id}`)).json() as Endpoint;
    expect(shown).toMatchObject({
      status: 'disabled',
      disabled_reason: expect.stringMatching(/410/),
    });
    await del(`/v1/webhook-endpoints/${created.id}`);
  });

  it.each([
    ['a private address', 'http://10.0.0.1/hook'],
    ['the metadata service', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 loopback', 'http://[::1]:8080/hook'],
    ['a name resolving to loopback', 'http://localhost:8080/hook'],
  ])('refuses an endpoint at %s', async (_what, url) => {
    const res = await post('/v1/webhook-endpoints', { url });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: {
        code: 'validation_error',
        details: [{ path: 'url', message: expect.stringMatching(/refused: .*private address/) }],
      },
    });
  });

  it('validates the body', async () => {
    const bad = await post('/v1/webhook-endpoints', {
      url: 'ftp://hooks.example.com/x',
      event_types: ['clone.exploded'],
      extra: 1,
    });
    expect(bad.statusCode).toBe(400);
    const paths = (bad.json() as { error: { details: Array<{ path: string }> } }).error.details.map(
      (d) => d.path,
    );
    expect(paths).toEqual(expect.arrayContaining(['url', 'event_types.0', 'extra']));
    expect((await post('/v1/webhook-endpoints', { url: WEBHOOK_URL }, null)).statusCode).toBe(401);
  });

  it('lists deliveries with their attempts, filtered and paginated', async () => {
    const owner = await api.tenant('deliveries');
    const apiKey = owner.key;
    const endpoint = (
      await post('/v1/webhook-endpoints', { url: `${WEBHOOK_URL}/list` }, apiKey)
    ).json() as Endpoint;
    const cloneId = '0190f4a6-7b8c-7d9e-8f00-000000000001';
    const batchId = '0190f4a6-7b8c-7d9e-8f00-000000000002';
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      ids.push(...(await event('clone.succeeded', { tenant: owner.id })));
    }
    const [failedId] = await event('clone.failed', {
      tenant: owner.id,
      cloneJobId: cloneId,
      targetUrl: `${WEBHOOK_URL}/own`,
    });
    const [batchDelivery] = await event('batch.completed', { tenant: owner.id, batchId });
    const ownUrl = (
      await getWebhookDelivery(api.database.db, { tenantId: owner.id, id: failedId as string })
    )?.url;
    expect(ownUrl).toBeDefined();
    await insertWebhookAttempt(api.database.db, {
      deliveryId: batchDelivery as string,
      attempt: 1,
      statusCode: 500,
      durationMs: 12,
      responseExcerpt: 'boom',
      error: 'HTTP 500',
    });
    await finishDelivery(api.database.db, {
      id: batchDelivery as string,
      status: 'failed',
      statusCode: 500,
      error: 'HTTP_500: gave up',
      at: new Date(),
    });

    const all = (await get('/v1/webhook-deliveries', apiKey)).json() as {
      data: Delivery[];
      next_cursor: string | null;
    };
    // clone.failed went to the endpoint and to the clone's own URL.
    expect(all.data).toHaveLength(6);
    expect(all.next_cursor).toBeNull();
    const failed = (await get('/v1/webhook-deliveries?status=failed', apiKey)).json() as {
      data: Delivery[];
    };
    expect(failed.data.map((d) => d.batch_id)).toEqual([batchId]);
    expect(failed.data[0]?.attempts).toEqual([
      expect.objectContaining({ attempt: 1, status_code: 500, error: 'HTTP 500' }),
    ]);
    const byClone = (await get(`/v1/webhook-deliveries?clone_id=${cloneId}`, apiKey)).json() as {
      data: Delivery[];
    };
    expect(byClone.data.map((d) => d.endpoint_id).sort()).toEqual([endpoint.id, null].sort());
    expect(new Set(byClone.data.map((d) => d.event_id)).size).toBe(1);
    const byType = (
      await get('/v1/webhook-deliveries?event_type=clone.succeeded', apiKey)
    ).json() as { data: Delivery[] };
    expect(byType.data.map((d) => d.id).sort()).toEqual([...ids].sort());
    const byEndpoint = (
      await get(`/v1/webhook-deliveries?endpoint_id=${endpoint.id}`, apiKey)
    ).json() as { data: Delivery[] };
    expect(byEndpoint.data).toHaveLength(5);
    const future = (
      await get(
        `/v1/webhook-deliveries?since=${new Date(Date.now() + 60_000).toISOString()}`,
        apiKey,
      )
    ).json() as { data: Delivery[] };
    expect(future.data).toEqual([]);

    // Pages of two, newest first, covering everything exactly once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await get(`/v1/webhook-deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`, apiKey)
      ).json() as { data: Delivery[]; next_cursor: string | null };
      seen.push(...page.data.map((d) => d.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.data.map((d) => d.id));
    expect([...seen].sort().reverse()).toEqual(seen);

    expect((await get('/v1/webhook-deliveries?cursor=nope', apiKey)).statusCode).toBe(400);
    expect((await get('/v1/webhook-deliveries?status=lost', apiKey)).statusCode).toBe(400);
    // Nothing of it is visible to another tenant.
    expect(((await get('/v1/webhook-deliveries')).json() as { data: Delivery[] }).data).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ id: failedId })]),
    );
  });

  it('redelivers with the same webhook-id, and refuses for a disabled endpoint', async () => {
    const created = await api.tenant('redeliver');
    const [id] = await event('clone.failed', {
      tenant: created.id,
      targetUrl: `${WEBHOOK_URL}/own`,
    });
    const deliveryId = id as string;
    await finishDelivery(api.database.db, {
      id: deliveryId,
      status: 'failed',
      statusCode: 500,
      error: 'HTTP_500: gave up',
      at: new Date(),
    });
    const before = await getWebhookDelivery(api.database.db, {
      tenantId: created.id,
      id: deliveryId,
    });
    const res = await post(
      `/v1/webhook-deliveries/${deliveryId}/redeliver`,
      undefined,
      created.key,
    );
    expect(res.statusCode).toBe(202);
    const delivery = res.json() as Delivery;
    expect(delivery).toMatchObject({ id: deliveryId, status: 'pending', attempt_count: 0 });
    expect(delivery.event_id).toBe(before?.eventId);
    expect(await api.queues.webhookDelivery.getJobState(deliveryId)).toBe('waiting');
    // Twice in a row: still one job.
    await post(`/v1/webhook-deliveries/${deliveryId}/redeliver`, undefined, created.key);
    expect((await api.queues.webhookDelivery.getJobCounts('waiting')).waiting).toBe(1);

    expect((await post(`/v1/webhook-deliveries/${deliveryId}/redeliver`)).statusCode).toBe(404);
    expect((await post('/v1/webhook-deliveries/nope/redeliver')).statusCode).toBe(404);

    const endpoint = (
      await post('/v1/webhook-endpoints', { url: `${WEBHOOK_URL}/off` }, created.key)
    ).json() as Endpoint;
    const [toEndpoint] = await event('clone.succeeded', { tenant: created.id });
    await disableWebhookEndpoint(api.database.db, {
      id: endpoint.id,
      reason: 'gone',
      at: new Date(),
    });
    const refused = await post(
      `/v1/webhook-deliveries/${toEndpoint as string}/redeliver`,
      undefined,
      created.key,
    );
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'endpoint_disabled' } });
  });

  it('rotates the secret, showing the new one once, with the old one kept for the grace period', async () => {
    const created = await api.tenant('rotate');
    const res = await post('/v1/webhook-secret/rotate', undefined, created.key);
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      secret: string;
      rotated_at: string;
      previous_secret_valid_until: string;
    };
    expect(body.secret).toMatch(/^whsec_/);
    expect(body.secret).not.toBe(created.webhookSecret);
    // The new secret is a valid Standard Webhooks key.
    expect(() =>
      signWebhook({ id: 'msg_1', timestamp: new Date(), body: '{}', secrets: [body.secret] }),
    ).not.toThrow();
    expect(Date.parse(body.previous_secret_valid_until) - Date.parse(body.rotated_at)).toBe(
      api.config.WEBHOOK_SECRET_GRACE_MS,
    );
    const tenant = await findTenantByApiKey(api.database.db, { apiKey: created.key });
    expect(tenant?.previousWebhookSecret).toBe(created.webhookSecret);
    expect((await post('/v1/webhook-secret/rotate', undefined, null)).statusCode).toBe(401);
  });
});
