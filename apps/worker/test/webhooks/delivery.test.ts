import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  findStrandedDeliveries,
  getWebhookDelivery,
  getWebhookEndpoint,
  listDeliveryAttempts,
  resetDeliveryForRedelivery,
  rotateWebhookSecret,
  type WebhookAttempt,
} from '@voxline/db';
import { createTestDatabase, Receiver, type TestDatabase, waitFor } from '@voxline/testing';
import {
  enqueueDeliveries,
  JITTER,
  parseRetrySchedule,
  reconcileLanes,
  requeueDeliveries,
} from '@voxline/webhooks';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryRig, failCloneJob, newTenant, startDeliveryRig } from './harness.js';

describe('webhook delivery worker', () => {
  let db: TestDatabase;
  let rig: DeliveryRig;
  let receiver: Receiver;
  beforeAll(async () => {
    db = await createTestDatabase();
    rig = await startDeliveryRig(db);
  });
  afterAll(async () => {
    await rig.close();
    await db.drop();
  });
  afterEach(async () => {
    await receiver?.down();
  });

  async function deliveryOf(tenantId: string, id: string) {
    const row = await getWebhookDelivery(db.db, { tenantId, id });
    if (!row) throw new Error(`no delivery ${id}`);
    return row;
  }
  const settled = (tenantId: string, id: string, status: 'succeeded' | 'failed' = 'succeeded') =>
    waitFor(`delivery ${id} ${status}`, async () => {
      const row = await deliveryOf(tenantId, id);
      return row.status === status ? row : undefined;
    });
  async function attemptsOf(tenantId: string, id: string): Promise<WebhookAttempt[]> {
    return (await listDeliveryAttempts(db.db, { tenantId, deliveryIds: [id] })).get(id) ?? [];
  }
  async function eventIdOf(tenantId: string, id: string): Promise<string> {
    return (await deliveryOf(tenantId, id)).eventId;
  }

  it('signs with the tenant secret, and with both secrets during the rotation grace', async () => {
    receiver = await Receiver.start();
    const tenant = await newTenant(db);
    const { deliveryIds } = await failCloneJob(db, tenant.id, `${receiver.url}/hook`);
    await enqueueDeliveries(rig.queues, deliveryIds);
    const [id] = deliveryIds as [string];
    await settled(tenant.id, id);
    const [first] = receiver.requests;
    if (!first) throw new Error('nothing received');
    expect(first.headers['webhook-id']).toBe(await eventIdOf(tenant.id, id));
    expect(first.headers['content-type']).toBe('application/json');
    const envelope = new Webhook(tenant.webhookSecret).verify(first.body, first.headers) as {
      type: string;
      data: { status: string; error: { code: string } };
    };
    expect(envelope.type).toBe('clone.failed');
    expect(envelope.data).toMatchObject({ status: 'failed', error: { code: 'MODERATION' } });
    expect(() =>
      new Webhook(tenant.webhookSecret).verify(
        first.body.replace('failed', 'succeeded'),
        first.headers,
      ),
    ).toThrow();

    const rotated = await rotateWebhookSecret(db.db, { id: tenant.id, graceMs: 60_000 });
    if (!rotated) throw new Error('rotation failed');
    const second = await failCloneJob(db, tenant.id, `${receiver.url}/hook`);
    await enqueueDeliveries(rig.queues, second.deliveryIds);
    await settled(tenant.id, second.deliveryIds[0] as string);
    const signed = receiver.requests[1];
    if (!signed) throw new Error('nothing received');
    expect(signed.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(
      new Webhook(rotated.tenant.webhookSecret).verify(signed.body, signed.headers),
    ).toBeTruthy();
    expect(new Webhook(tenant.webhookSecret).verify(signed.body, signed.headers)).toBeTruthy();
  });

  it('retries on the compressed schedule with the same webhook-id until acknowledged', async () => {
    receiver = await Receiver.start();
    receiver.reply = (_r, n) => (n < 3 ? { status: 500, body: 'boom' } : { status: 204 });
    const tenant = await newTenant(db);
    const endpoint = await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: `${receiver.url}/endpoint`,
      eventTypes: ['clone.failed'],
    });
    const { deliveryIds } = await failCloneJob(db, tenant.id, null);
    const [id] = deliveryIds as [string];
    await enqueueDeliveries(rig.queues, deliveryIds);
    const done = await settled(tenant.id, id);
    expect(done.attempts).toBe(4);

    const attempts = await attemptsOf(tenant.id, id);
    expect(attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 204],
    ]);
    expect(attempts[0]?.responseExcerpt).toBe('boom');
    const schedule = parseRetrySchedule(rig.config.WEBHOOK_RETRY_SCHEDULE);
    for (let i = 1; i < attempts.length; i += 1) {
      const gap =
        (attempts[i]?.createdAt.getTime() ?? 0) - (attempts[i - 1]?.createdAt.getTime() ?? 0);
      const scheduled = ((schedule[i] ?? 0) * 1_000) / rig.config.WEBHOOK_SCHEDULE_SCALE;
      // Timestamps are stored at millisecond precision: allow 1 ms of rounding.
      expect(gap).toBeGreaterThanOrEqual(Math.floor(scheduled * (1 - JITTER)) - 1);
    }
    const eventId = await eventIdOf(tenant.id, id);
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual(Array(4).fill(eventId));

    const health = await getWebhookEndpoint(db.db, { tenantId: tenant.id, id: endpoint.id });
    expect(health?.lastSuccessAt).toBeInstanceOf(Date);
    expect(health?.failingSince).toBeNull();
  });

  it('gets every event to a receiver that was down, once it is back', async () => {
    receiver = await Receiver.start();
    const port = receiver.port;
    await receiver.down();
    const tenant = await newTenant(db);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(...(await failCloneJob(db, tenant.id, `http://127.0.0.1:${port}/hook`)).deliveryIds);
    }
    await enqueueDeliveries(rig.queues, ids);
    const attemptsAtLeast = (n: number) =>
      waitFor(`every delivery tried ${n} times`, async () => {
        const counts = await listDeliveryAttempts(db.db, { tenantId: tenant.id, deliveryIds: ids });
        return ids.every((id) => (counts.get(id)?.length ?? 0) >= n);
      });
    await attemptsAtLeast(2);
    // Back, but broken for a while.
    await receiver.up();
    expect(receiver.port).toBe(port);
    receiver.reply = () => ({ status: 500 });
    await attemptsAtLeast(3);
    receiver.reply = () => ({ status: 200 });
    for (const id of ids) await settled(tenant.id, id);

    for (const id of ids) {
      const eventId = await eventIdOf(tenant.id, id);
      const got = receiver.byId(eventId);
      expect(got.length).toBeGreaterThanOrEqual(2);
      expect(got.at(-1)?.body).toBe(got[0]?.body);
      const attempts = await attemptsOf(tenant.id, id);
      expect(attempts[0]?.error).toMatch(/ECONNREFUSED/);
      expect(attempts.at(-1)?.statusCode).toBe(200);
      expect(attempts.filter((a) => a.statusCode === 200)).toHaveLength(1);
    }
  });

  it('honours retry-after on 429', async () => {
    receiver = await Receiver.start();
    receiver.reply = (_r, n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
    const tenant = await newTenant(db);
    const { deliveryIds } = await failCloneJob(db, tenant.id, `${receiver.url}/hook`);
    await enqueueDeliveries(rig.queues, deliveryIds);
    await settled(tenant.id, deliveryIds[0] as string);
    const [first, second] = receiver.requests;
    // The schedule alone would have retried after 5 ms.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    receiver = await Receiver.start();
    receiver.reply = (r) =>
      r.path === '/moved' ? { status: 307, headers: { location: '/landing' } } : { status: 200 };
    const tenant = await newTenant(db);
    const { deliveryIds } = await failCloneJob(db, tenant.id, `${receiver.url}/moved`);
    const [id] = deliveryIds as [string];
    await enqueueDeliveries(rig.queues, deliveryIds);
    await waitFor('two attempts', async () => (await attemptsOf(tenant.id, id)).length >= 2);
    const attempts = await attemptsOf(tenant.id, id);
    expect(attempts[0]).toMatchObject({ statusCode: 307 });
    expect(attempts[0]?.error).toMatch(/redirect.*not followed/);
    expect(receiver.requests.every((r) => r.path === '/moved')).toBe(true);
    expect((await deliveryOf(tenant.id, id)).status).toBe('pending');
  });

  it('disables an endpoint that answers 410 Gone and dead-letters the delivery', async () => {
    receiver = await Receiver.start();
    receiver.reply = () => ({ status: 410, body: 'gone for good' });
    const tenant = await newTenant(db);
    const endpoint = await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: `${receiver.url}/old`,
      eventTypes: ['clone.failed'],
    });
    const { deliveryIds } = await failCloneJob(db, tenant.id, null);
    const [id] = deliveryIds as [string];
    await enqueueDeliveries(rig.queues, deliveryIds);
    const failed = await settled(tenant.id, id, 'failed');
    expect(failed.attempts).toBe(1);
    const disabled = await getWebhookEndpoint(db.db, { tenantId: tenant.id, id: endpoint.id });
    expect(disabled?.disabledAt).toBeInstanceOf(Date);
    expect(disabled?.disabledReason).toMatch(/410 Gone/);

    const letters = await rig.queues.deadLetter.getJobs(['waiting']);
    const letter = letters.find((j) => j.data.deliveryId === id);
    expect(letter?.data).toMatchObject({
      sourceQueue: 'webhook-delivery',
      jobId: id,
      deliveryId: id,
      tenantId: tenant.id,
      attempts: 1,
      errorCode: 'GONE',
      lastResponse: { statusCode: 410, excerpt: 'gone for good' },
    });
    // The BullMQ job failed for good, not to be retried.
    expect(await rig.queues.webhookDelivery.getJobState(id)).toBe('failed');
    // Later events no longer target it.
    const later = await failCloneJob(db, tenant.id, null);
    expect(later.deliveryIds).toEqual([]);
  });

  it('disables an endpoint failing for longer than WEBHOOK_DISABLE_AFTER_MS, saying why', async () => {
    receiver = await Receiver.start();
    receiver.reply = () => ({ status: 502 });
    const tenant = await newTenant(db);
    const endpoint = await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: `${receiver.url}/flaky`,
      eventTypes: ['clone.failed'],
    });
    // Failing for six days already (the default limit is five).
    await db.pool.query(
      `update webhook_endpoints set failing_since = now() - interval '6 days' where id = $1`,
      [endpoint.id],
    );
    const { deliveryIds } = await failCloneJob(db, tenant.id, null);
    const [id] = deliveryIds as [string];
    await enqueueDeliveries(rig.queues, deliveryIds);
    await settled(tenant.id, id, 'failed');
    const disabled = await getWebhookEndpoint(db.db, { tenantId: tenant.id, id: endpoint.id });
    expect(disabled?.disabledReason).toMatch(
      /no successful delivery since .*; last error: HTTP 502/,
    );
  });

  it('ends deliveries to a deleted endpoint quietly', async () => {
    receiver = await Receiver.start();
    const tenant = await newTenant(db);
    const endpoint = await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: `${receiver.url}/deleted`,
      eventTypes: ['clone.failed'],
    });
    const { deliveryIds } = await failCloneJob(db, tenant.id, null);
    const [id] = deliveryIds as [string];
    await deleteWebhookEndpoint(db.db, { tenantId: tenant.id, id: endpoint.id });
    await enqueueDeliveries(rig.queues, deliveryIds);
    const failed = await settled(tenant.id, id, 'failed');
    expect(failed.lastError).toMatch(/^ENDPOINT_DELETED/);
    expect(receiver.requests).toEqual([]);
    const letters = await rig.queues.deadLetter.getJobs(['waiting']);
    expect(letters.some((j) => j.data.deliveryId === id)).toBe(false);
  });

  it('does not attempt before next_attempt_at, whoever queues the job', async () => {
    receiver = await Receiver.start();
    const tenant = await newTenant(db);
    const { deliveryIds } = await failCloneJob(db, tenant.id, `${receiver.url}/later`);
    const [id] = deliveryIds as [string];
    const due = Date.now() + 700;
    await db.pool.query('update webhook_deliveries set next_attempt_at = $2 where id = $1', [
      id,
      new Date(due),
    ]);
    await enqueueDeliveries(rig.queues, deliveryIds);
    await settled(tenant.id, id);
    expect(receiver.requests[0]?.at).toBeGreaterThanOrEqual(due);
  });

  it('dead-letters a delivery after its last attempt', async () => {
    receiver = await Receiver.start();
    receiver.reply = () => ({ status: 500, body: 'still broken' });
    const db2 = db;
    const short = await startDeliveryRig(db2, {
      WEBHOOK_RETRY_SCHEDULE: '0,0.01,0.02',
      WEBHOOK_SCHEDULE_SCALE: '1',
    });
    try {
      const tenant = await newTenant(db);
      const { deliveryIds } = await failCloneJob(db, tenant.id, `${receiver.url}/hook`);
      const [id] = deliveryIds as [string];
      await enqueueDeliveries(short.queues, deliveryIds);
      const failed = await settled(tenant.id, id, 'failed');
      expect(failed.attempts).toBe(3);
      expect(failed.lastError).toMatch(/HTTP_500: gave up after 3 attempts/);
      const letter = await waitFor('dead letter', async () =>
        (await short.queues.deadLetter.getJobs(['waiting'])).find((j) => j.data.deliveryId === id),
      );
      expect(letter.data).toMatchObject({ attempts: 3, errorCode: 'HTTP_500' });
      expect(letter.data.lastResponse).toMatchObject({ statusCode: 500, excerpt: 'still broken' });
    } finally {
      await short.close();
    }
  });

  it('redelivers a finished delivery with the same webhook-id', async () => {
    receiver = await Receiver.start();
    const tenant = await newTenant(db);
    const { deliveryIds } = await failCloneJob(db, tenant.id, `${receiver.url}/hook`);
    const [id] = deliveryIds as [string];
    await enqueueDeliveries(rig.queues, deliveryIds);
    await settled(tenant.id, id);
    await resetDeliveryForRedelivery(db.db, { tenantId: tenant.id, id });
    // The completed job is still kept under the same id: requeue replaces it.
    expect(await requeueDeliveries(rig.queues, [id], { now: true })).toBe(1);
    await waitFor('second request', () => receiver.requests.length === 2);
    await settled(tenant.id, id);
    const [a, b] = receiver.requests;
    expect(b?.headers['webhook-id']).toBe(a?.headers['webhook-id']);
    expect(b?.body).toBe(a?.body);
    expect((await attemptsOf(tenant.id, id)).map((x) => x.attempt)).toEqual([1, 1]);
  });

  it('still delivers after a crash between the state change and the enqueue', async () => {
    receiver = await Receiver.start();
    const tenant = await newTenant(db);
    // The clone job's failure and its event committed; the process died before enqueueing.
    const { deliveryIds } = await failCloneJob(db, tenant.id, `${receiver.url}/hook`);
    const [id] = deliveryIds as [string];
    expect(await rig.queues.webhookDelivery.getJobState(id)).toBe('unknown');
    const stranded = await waitFor('stranded delivery', async () => {
      const found = await findStrandedDeliveries(db.db, { olderThan: new Date(), limit: 100 });
      return found.some((d) => d.id === id) ? found : undefined;
    });
    expect(stranded.every((d) => d.status === 'pending')).toBe(true);
    // What the reconciler runs; the first pass queues it, a second finds nothing more to do.
    const admission = { db: db.db, queues: rig.queues, redis: rig.redis.redis, maxPending: 100 };
    const pass = async () => {
      const report = await reconcileLanes(admission, { olderThan: new Date(), limit: 100 });
      return report.requeued + report.admitted;
    };
    expect(await pass()).toBe(1);
    expect(await pass()).toBe(0);
    await settled(tenant.id, id);
    expect(receiver.byId(await eventIdOf(tenant.id, id))).toHaveLength(1);
  });

  it('processes without unexpected errors', () => {
    const unexpected = rig.failures.filter((e) => e.name !== 'UnrecoverableError');
    expect(unexpected).toEqual([]);
  });
});

describe('SSRF guard at send time', () => {
  let db: TestDatabase;
  let rig: DeliveryRig;
  let receiver: Receiver;
  beforeAll(async () => {
    db = await createTestDatabase();
    // Nothing allowlisted, as in production.
    rig = await startDeliveryRig(db, { WEBHOOK_ALLOWLIST: '' });
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    await receiver.down();
    await rig.close();
    await db.drop();
  });

  it.each([
    ['a private address', () => 'http://10.0.0.1/hook'],
    ['the metadata service', () => 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 loopback', () => `http://[::1]:${receiver.port}/hook`],
    ['a name resolving to 127.0.0.1', () => `http://localhost:${receiver.port}/hook`],
  ])('refuses %s without connecting', async (_what, url) => {
    const tenant = await newTenant(db);
    const { deliveryIds } = await failCloneJob(db, tenant.id, url());
    const [id] = deliveryIds as [string];
    await enqueueDeliveries(rig.queues, deliveryIds);
    const attempts = await waitFor('first attempt', async () => {
      const list = (
        await listDeliveryAttempts(db.db, { tenantId: tenant.id, deliveryIds: [id] })
      ).get(id);
      return list?.length ? list : undefined;
    });
    expect(attempts[0]).toMatchObject({ statusCode: null });
    expect(attempts[0]?.error).toMatch(/refused: .*private address/);
    expect(receiver.requests).toEqual([]);
  });

  it('connects only to the address it checked (DNS rebinding)', async () => {
    // The name answers "public" to the check and "loopback" to the connection.
    const answers = new Map<string, number>();
    const rebinding = async (host: string) => {
      const n = answers.get(host) ?? 0;
      answers.set(host, n + 1);
      return n === 0 ? ['93.184.216.34'] : ['127.0.0.1'];
    };
    const rebound = await startDeliveryRig(db, { WEBHOOK_ALLOWLIST: '' }, rebinding);
    try {
      const tenant = await newTenant(db);
      const url = `http://rebind.example.test:${receiver.port}/hook`;
      const { deliveryIds } = await failCloneJob(db, tenant.id, url);
      const [id] = deliveryIds as [string];
      await enqueueDeliveries(rebound.queues, deliveryIds);
      const attempts = await waitFor('first attempt', async () => {
        const list = (
          await listDeliveryAttempts(db.db, { tenantId: tenant.id, deliveryIds: [id] })
        ).get(id);
        return list?.length ? list : undefined;
      });
      expect(answers.get('rebind.example.test')).toBeGreaterThanOrEqual(2);
      expect(attempts[0]?.error).toMatch(/rebind\.example\.test resolves to a private address/);
      expect(receiver.requests).toEqual([]);
    } finally {
      await rebound.close();
    }
  });

  it('delivers to a loopback receiver once loopback is allowlisted', async () => {
    const allowed = await startDeliveryRig(db, { WEBHOOK_ALLOWLIST: '127.0.0.0/8,::1' });
    try {
      const tenant = await newTenant(db);
      const { deliveryIds } = await failCloneJob(
        db,
        tenant.id,
        `http://localhost:${receiver.port}/ok`,
      );
      await enqueueDeliveries(allowed.queues, deliveryIds);
      await waitFor('delivered', async () => {
        const row = await getWebhookDelivery(db.db, {
          tenantId: tenant.id,
          id: deliveryIds[0] as string,
        });
        return row?.status === 'succeeded';
      });
      expect(receiver.requests.map((r) => r.path)).toEqual(['/ok']);
    } finally {
      await allowed.close();
    }
  });
});
