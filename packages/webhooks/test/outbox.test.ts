import {
  createTenant,
  createWebhookEndpoint,
  disableWebhookEndpoint,
  findStrandedDeliveries,
  listWebhookDeliveries,
} from '@voxline/db';
import { closeQueues, createQueues, type Queues } from '@voxline/queue';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueDeliveries, recordEvent, requeueDeliveries } from '../src/index.js';

describe('webhook outbox', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let queues: Queues;
  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await createTestRedis();
    queues = createQueues(redis.redis, redis.prefix);
  });
  afterAll(async () => {
    await closeQueues(queues);
    await redis.cleanup();
    await db.drop();
  });

  it('writes nothing when the transaction that caused the event rolls back', async () => {
    const { tenant } = await createTenant(db.db, { name: 'rollback' });
    await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: 'https://hooks.example.com/a',
      eventTypes: ['clone.succeeded'],
    });
    await expect(
      db.db.transaction(async (tx) => {
        const ids = await recordEvent(tx, {
          tenantId: tenant.id,
          type: 'clone.succeeded',
          data: { id: 'x' },
        });
        expect(ids).toHaveLength(1);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    const events = await db.pool.query('select id from webhook_events where tenant_id = $1', [
      tenant.id,
    ]);
    expect(events.rows).toEqual([]);
    expect(await listWebhookDeliveries(db.db, { tenantId: tenant.id, limit: 10 })).toEqual([]);
  });

  it('targets subscribed live endpoints and the own webhook_url, once per URL', async () => {
    const { tenant } = await createTenant(db.db, { name: 'targets' });
    const wanted = await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: 'https://hooks.example.com/all',
      eventTypes: ['clone.succeeded', 'clone.failed'],
    });
    await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: 'https://hooks.example.com/batches',
      eventTypes: ['batch.completed'],
    });
    const disabled = await createWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      url: 'https://hooks.example.com/old',
      eventTypes: ['clone.succeeded'],
    });
    await disableWebhookEndpoint(db.db, {
      tenantId: tenant.id,
      id: disabled.id,
      reason: 'test',
      at: new Date(),
    });
    const ids = await db.db.transaction((tx) =>
      recordEvent(tx, {
        tenantId: tenant.id,
        type: 'clone.succeeded',
        data: { id: 'x' },
        targetUrl: 'https://cms.example.com/hook',
      }),
    );
    const rows = (await listWebhookDeliveries(db.db, { tenantId: tenant.id, limit: 10 })).map(
      (item) => item.delivery,
    );
    expect(rows.map((r) => [r.endpointId, r.url]).sort()).toEqual(
      [
        [wanted.id, 'https://hooks.example.com/all'],
        [null, 'https://cms.example.com/hook'],
      ].sort(),
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    // Every delivery of one event carries the same event, so the same webhook-id.
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(1);
    expect(rows[0]?.eventId).toMatch(/^msg_[0-9a-f]{32}$/);
  });

  it('finds deliveries whose job never made it to Redis, and requeues them idempotently', async () => {
    const { tenant } = await createTenant(db.db, { name: 'stranded' });
    // Committed, then the process "died" before enqueueDeliveries.
    const [id] = await db.db.transaction((tx) =>
      recordEvent(tx, {
        tenantId: tenant.id,
        type: 'clone.failed',
        data: { id: 'y' },
        targetUrl: 'https://cms.example.com/hook',
      }),
    );
    if (!id) throw new Error('no delivery');
    const stranded = await findStrandedDeliveries(db.db, {
      olderThan: new Date(Date.now() + 1_000),
      limit: 100,
    });
    expect(stranded.map((d) => d.id)).toContain(id);
    // Not yet due by the reconciler's grace: not stranded.
    expect(
      (await findStrandedDeliveries(db.db, { olderThan: new Date(0), limit: 100 })).map(
        (d) => d.id,
      ),
    ).not.toContain(id);

    expect(await requeueDeliveries(queues, [id])).toBe(1);
    expect(await queues.webhookDelivery.getJobState(id)).toBe('waiting');
    // Again: the job is live, nothing is added.
    expect(await requeueDeliveries(queues, [id])).toBe(0);
    await enqueueDeliveries(queues, [id]);
    expect((await queues.webhookDelivery.getJobCounts('waiting')).waiting).toBe(1);

    // A finished job kept for Bull Board would swallow a plain add with its id.
    const job = await queues.webhookDelivery.getJob(id);
    await job?.remove();
    await queues.webhookDelivery.add('deliver', { deliveryId: id }, { jobId: id, delay: 60_000 });
    expect(await requeueDeliveries(queues, [id])).toBe(0);
    expect(await requeueDeliveries(queues, [id], { now: true })).toBe(1);
    expect(await queues.webhookDelivery.getJobState(id)).toBe('waiting');
  });
});
