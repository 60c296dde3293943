import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  disableWebhookEndpoint,
  finishDelivery,
  getWebhookDelivery,
  insertWebhookAttempt,
} from '@voxline/db';
import { createLogger } from '@voxline/logger';
import { waitFor } from '@voxline/testing';
import {
  createWebhookDispatcher,
  type DeliveryDeps,
  deliverWebhook,
  deliverySettings,
  recordEvent,
  signWebhook,
} from '@voxline/webhooks';
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
      'voice.ready',
      'voice.failed',
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
      tenantId,
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

  it('registers a URL once per tenant: a duplicate is 409 endpoint_exists and writes nothing', async () => {
    const owner = await api.tenant('duplicates');
    const url = `${WEBHOOK_URL}/once?token=1`;
    const first = await post('/v1/webhook-endpoints', { url }, owner.key);
    expect(first.statusCode).toBe(201);
    const existing = first.json() as Endpoint;

    // Racing registrations of the same URL: the unique index lets exactly one through.
    const racing = await Promise.all(
      Array.from({ length: 5 }, () =>
        post('/v1/webhook-endpoints', { url, description: 'again' }, owner.key),
      ),
    );
    for (const res of racing) {
      expect(res.statusCode).toBe(409);
      expect(res.json()).toEqual({
        error: {
          code: 'endpoint_exists',
          message: expect.stringContaining(existing.id),
          details: { endpoint_id: existing.id },
        },
      });
    }
    const listed = (await get('/v1/webhook-endpoints', owner.key)).json() as { data: Endpoint[] };
    expect(listed.data.map((e) => e.id)).toEqual([existing.id]);

    // Another tenant may register the same URL; a deleted endpoint's URL may be registered again.
    const other = await api.tenant('duplicates-other');
    expect((await post('/v1/webhook-endpoints', { url }, other.key)).statusCode).toBe(201);
    expect((await del(`/v1/webhook-endpoints/${existing.id}`, owner.key)).statusCode).toBe(204);
    expect((await post('/v1/webhook-endpoints', { url }, owner.key)).statusCode).toBe(201);
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
      tenantId: owner.id,
      deliveryId: batchDelivery as string,
      attempt: 1,
      statusCode: 500,
      durationMs: 12,
      responseExcerpt: 'boom',
      error: 'HTTP 500',
    });
    await finishDelivery(api.database.db, {
      tenantId: owner.id,
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
      tenantId: created.id,
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
    // Again while that one is pending: refused, and still one job.
    const again = await post(
      `/v1/webhook-deliveries/${deliveryId}/redeliver`,
      undefined,
      created.key,
    );
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'delivery_pending' } });
    expect((await api.queues.webhookDelivery.getJobCounts('waiting')).waiting).toBe(1);
    expect(
      (await getWebhookDelivery(api.database.db, { tenantId: created.id, id: deliveryId }))?.status,
    ).toBe('pending');
    // Racing redeliveries of a finished delivery: one restarts it, the others are refused.
    await finishDelivery(api.database.db, {
      tenantId: created.id,
      id: deliveryId,
      status: 'failed',
      statusCode: 500,
      error: 'HTTP_500: gave up',
      at: new Date(),
    });
    const racing = await Promise.all(
      Array.from({ length: 5 }, () =>
        post(`/v1/webhook-deliveries/${deliveryId}/redeliver`, undefined, created.key),
      ),
    );
    expect(racing.map((r) => r.statusCode).sort()).toEqual([202, 409, 409, 409, 409]);

    expect((await post(`/v1/webhook-deliveries/${deliveryId}/redeliver`)).statusCode).toBe(404);
    expect((await post('/v1/webhook-deliveries/nope/redeliver')).statusCode).toBe(404);

    const endpoint = (
      await post('/v1/webhook-endpoints', { url: `${WEBHOOK_URL}/off` }, created.key)
    ).json() as Endpoint;
    const [toEndpoint] = await event('clone.succeeded', { tenant: created.id });
    await disableWebhookEndpoint(api.database.db, {
      tenantId: created.id,
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

  it('caps endpoints per tenant in the database, however many registrations race', async () => {
    const created = await api.tenant('cap');
    const racing = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        post('/v1/webhook-endpoints', { url: `${WEBHOOK_URL}/cap/${i}` }, created.key),
      ),
    );
    const codes = racing.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(50);
    expect(codes.filter((c) => c === 409)).toHaveLength(10);
    const refused = racing.find((r) => r.statusCode === 409);
    expect(refused?.json()).toMatchObject({
      error: { code: 'too_many_endpoints', message: expect.stringMatching(/at most 50/) },
    });
    const { rows } = await api.database.pool.query(
      'select count(*)::int as n from webhook_endpoints where tenant_id = $1',
      [created.id],
    );
    expect(rows[0].n).toBe(50);
    // A deleted endpoint frees its place.
    const [first] = (
      (await get('/v1/webhook-endpoints', created.key)).json() as { data: Endpoint[] }
    ).data;
    expect((await del(`/v1/webhook-endpoints/${first?.id}`, created.key)).statusCode).toBe(204);
    const more = await post(
      '/v1/webhook-endpoints',
      { url: `${WEBHOOK_URL}/cap/again` },
      created.key,
    );
    expect(more.statusCode).toBe(201);
  });

  it('rotates the secret, showing the new one once', async () => {
    const created = await api.tenant('rotate');
    const res = await post('/v1/webhook-secret/rotate', undefined, created.key);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { secret: string };
    expect(body.secret).toMatch(/^whsec_/);
    expect(body.secret).not.toBe(created.webhookSecret);
    // The new secret is a valid Standard Webhooks key.
    expect(() =>
      signWebhook({ id: 'msg_1', timestamp: new Date(), body: '{}', secrets: [body.secret] }),
    ).not.toThrow();
    expect((await post('/v1/webhook-secret/rotate', undefined, null)).statusCode).toBe(401);
  });
});

/** A loopback receiver recording what each request carried. */
async function startReceiver() {
  const received: Array<{ headers: Record<string, string>; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, String(v ?? '')]),
        ),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('webhook secret rotation, end to end', () => {
  // Short enough to outlive in a test, long enough that two rotations and a delivery fit in it.
  const GRACE_MS = 2_000;
  let api: Api;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let deps: DeliveryDeps;
  beforeAll(async () => {
    api = await startApi({
      WEBHOOK_SECRET_GRACE_MS: String(GRACE_MS),
      WEBHOOK_ALLOWLIST: '127.0.0.0/8',
    });
    receiver = await startReceiver();
    const settings = deliverySettings(api.config);
    deps = {
      db: api.database.db,
      queues: api.queues,
      settings,
      dispatcher: createWebhookDispatcher({
        allowlist: settings.allowlist,
        timeoutMs: settings.timeoutMs,
      }),
      logger: createLogger({ name: 'rotation-test', level: 'silent' }),
    };
  });
  afterAll(async () => {
    await deps?.dispatcher.close();
    await receiver?.close();
    await api?.close();
  });

  it('signs with every secret still in its grace, and stops each at its own expiry', async () => {
    const tenant = await api.tenant('rotating');
    const post = (url: string, body?: unknown) =>
      api.request('POST', url, { key: tenant.key, ...(body === undefined ? {} : { body }) });
    expect((await post('/v1/webhook-endpoints', { url: receiver.url })).statusCode).toBe(201);
    const [deliveryId] = await api.database.db.transaction((tx) =>
      recordEvent(tx, { tenantId: tenant.id, type: 'clone.failed', data: { id: 'x' } }),
    );
    if (!deliveryId) throw new Error('no delivery recorded');

    const rotate = async () => {
      const res = await post('/v1/webhook-secret/rotate');
      expect(res.statusCode).toBe(200);
      return res.json() as { secret: string; previous_secret_valid_until: string };
    };
    /** One real attempt to the receiver, redelivered after the first; what it carried. */
    const deliver = async () => {
      if (receiver.received.length > 0) {
        expect((await post(`/v1/webhook-deliveries/${deliveryId}/redeliver`)).statusCode).toBe(202);
      }
      const outcome = await deliverWebhook(deps, deliveryId);
      expect(outcome.kind).toBe('succeeded');
      const got = receiver.received.at(-1);
      if (!got) throw new Error('nothing received');
      return got;
    };
    // Whether the message carries a signature by `secret`. signWebhook is the oracle: its own
    // test checks it against the reference library, which this package does not depend on.
    const accepts = (secret: string, got: { headers: Record<string, string>; body: string }) => {
      const expected = signWebhook({
        id: got.headers['webhook-id'] ?? '',
        timestamp: new Date(Number(got.headers['webhook-timestamp']) * 1_000),
        body: got.body,
        secrets: [secret],
      })['webhook-signature'];
      return (got.headers['webhook-signature'] ?? '').split(' ').includes(expected);
    };

    // Two rotations within the grace period: the original secret is not dropped by the second.
    const first = await rotate();
    const second = await rotate();
    const during = await deliver();
    expect(during.headers['webhook-signature']?.split(' ')).toHaveLength(3);
    for (const secret of [second.secret, first.secret, tenant.webhookSecret]) {
      expect(accepts(secret, during)).toBe(true);
    }

    // The original secret's expiry passes (set explicitly): it signs no more, the others do.
    await api.database.pool.query(
      'update retired_webhook_secrets set expires_at = now() where tenant_id = $1 and secret = $2',
      [tenant.id, tenant.webhookSecret],
    );
    const later = await deliver();
    expect(later.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(accepts(second.secret, later)).toBe(true);
    expect(accepts(first.secret, later)).toBe(true);
    expect(accepts(tenant.webhookSecret, later)).toBe(false);

    // The second rotation's grace, as the route announced it, runs out on the clock.
    const graceEnd = Date.parse(second.previous_secret_valid_until);
    expect(graceEnd).toBeGreaterThan(Date.now());
    await waitFor('the grace period to end', () => Date.now() > graceEnd, {
      timeoutMs: GRACE_MS * 2,
    });
    const after = await deliver();
    expect(after.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(accepts(second.secret, after)).toBe(true);
    expect(accepts(first.secret, after)).toBe(false);
    expect(accepts(tenant.webhookSecret, after)).toBe(false);
  });
});
