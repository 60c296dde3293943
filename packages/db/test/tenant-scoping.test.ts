import { createTestDatabase, type TestDatabase } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendCloneJobEvent,
  batchHasActiveLines,
  claimDeliveryAttempt,
  completeBatchIfDone,
  countBatchStatuses,
  createTenant,
  createWebhookEndpoint,
  disableWebhookEndpoint,
  finishDelivery,
  getAudioResult,
  getCloneJob,
  insertAudioResult,
  insertBatch,
  insertCloneJobs,
  insertDeliveries,
  insertWebhookAttempt,
  insertWebhookEvents,
  listCloneJobEvents,
  listDeliveryAttempts,
  markEndpointFailing,
  markEndpointSucceeded,
  newId,
  scheduleDeliveryRetry,
  transitionCloneJob,
} from '../src/index.js';
import { request } from './fixtures.js';

/** Each repository function, called with another tenant's id, finds and changes nothing. */
describe('tenant scoping of the repositories', () => {
  let db: TestDatabase;
  let owner: string;
  let stranger: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    owner = (await createTenant(db.db, { name: 'owner' })).tenant.id;
    stranger = (await createTenant(db.db, { name: 'stranger' })).tenant.id;
  });
  afterAll(async () => {
    await db.drop();
  });

  const count = async (sql: string, id: string) =>
    (await db.pool.query(sql, [id])).rows[0].n as number;

  it('clone jobs, their events, audio and batches', async () => {
    const batchId = newId();
    await insertBatch(db.db, {
      id: batchId,
      tenantId: owner,
      total: 1,
      voice: {},
      requestHash: 'h',
    });
    const id = newId();
    await insertCloneJobs(db.db, [{ id, tenantId: owner, batchId, priority: 1, request }]);

    expect(await getCloneJob(db.db, { tenantId: stranger, id })).toBeNull();
    expect(
      await transitionCloneJob(db.db, { tenantId: stranger, id, from: ['queued'], to: 'running' }),
    ).toBeNull();
    await appendCloneJobEvent(db.db, { tenantId: stranger, cloneJobId: id, kind: 'intrusion' });
    expect(await listCloneJobEvents(db.db, { tenantId: stranger, cloneJobId: id })).toEqual([]);
    expect(
      await insertAudioResult(db.db, {
        tenantId: stranger,
        cloneJobId: id,
        url: 'https://cdn.example.com/a.mp3',
        upstreamTaskId: '1',
        raw: {},
      }),
    ).toBeNull();
    expect(
      await count('select count(*)::int as n from audio_results where clone_job_id = $1', id),
    ).toBe(0);
    expect(await countBatchStatuses(db.db, { tenantId: stranger, batchId })).toMatchObject({
      queued: 0,
    });
    expect(await batchHasActiveLines(db.db, { tenantId: stranger, batchId })).toBe(false);

    // The owner's own calls do reach the rows, so the refusals above are the scoping.
    expect((await getCloneJob(db.db, { tenantId: owner, id }))?.status).toBe('queued');
    await appendCloneJobEvent(db.db, { tenantId: owner, cloneJobId: id, kind: 'note' });
    expect(
      (await listCloneJobEvents(db.db, { tenantId: owner, cloneJobId: id })).map((e) => e.kind),
    ).toEqual(['transition', 'note']);
    expect(await countBatchStatuses(db.db, { tenantId: owner, batchId })).toMatchObject({
      queued: 1,
    });
    const done = await transitionCloneJob(db.db, {
      tenantId: owner,
      id,
      from: ['queued'],
      to: 'succeeded',
    });
    expect(done?.status).toBe('succeeded');
    await insertAudioResult(db.db, {
      tenantId: owner,
      cloneJobId: id,
      url: 'https://cdn.example.com/a.mp3',
      upstreamTaskId: '1',
      raw: {},
    });
    expect(await getAudioResult(db.db, { tenantId: stranger, cloneJobId: id })).toBeNull();
    expect((await getAudioResult(db.db, { tenantId: owner, cloneJobId: id }))?.url).toBe(
      'https://cdn.example.com/a.mp3',
    );
    // The batch is the owner's to complete.
    expect(await completeBatchIfDone(db.db, { tenantId: stranger, batchId })).toBeNull();
    expect((await completeBatchIfDone(db.db, { tenantId: owner, batchId }))?.status).toBe(
      'completed',
    );
  });

  it('webhook deliveries, their attempts and endpoints', async () => {
    const endpoint = await createWebhookEndpoint(db.db, {
      tenantId: owner,
      url: 'https://hooks.example.com/x',
      eventTypes: ['clone.failed'],
    });
    const eventId = `msg_${newId().replaceAll('-', '')}`;
    await insertWebhookEvents(db.db, [
      { id: eventId, tenantId: owner, type: 'clone.failed', payload: {} },
    ]);
    const [id] = (await insertDeliveries(db.db, [
      { tenantId: owner, eventId, endpointId: endpoint.id, url: endpoint.url },
    ])) as [string];
    const at = new Date();

    expect(await claimDeliveryAttempt(db.db, { tenantId: stranger, id, attempts: 0 })).toBeNull();
    expect(
      await insertWebhookAttempt(db.db, {
        tenantId: stranger,
        deliveryId: id,
        attempt: 1,
        durationMs: 1,
      }),
    ).toBe(false);
    await scheduleDeliveryRetry(db.db, {
      tenantId: stranger,
      id,
      nextAttemptAt: new Date(0),
      statusCode: 500,
      error: 'x',
    });
    expect(
      await finishDelivery(db.db, {
        tenantId: stranger,
        id,
        status: 'failed',
        statusCode: null,
        error: 'x',
        at,
      }),
    ).toBeNull();
    await markEndpointFailing(db.db, { tenantId: stranger, id: endpoint.id, at });
    await markEndpointSucceeded(db.db, { tenantId: stranger, id: endpoint.id, at });
    expect(
      await disableWebhookEndpoint(db.db, { tenantId: stranger, id: endpoint.id, reason: 'x', at }),
    ).toBeNull();

    const { rows } = await db.pool.query(
      `select d.status, d.attempts, d.last_status_code, e.failing_since, e.last_success_at,
              e.disabled_at, (select count(*)::int from webhook_attempts where delivery_id = d.id) as n
         from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where d.id = $1`,
      [id],
    );
    expect(rows[0]).toEqual({
      status: 'pending',
      attempts: 0,
      last_status_code: null,
      failing_since: null,
      last_success_at: null,
      disabled_at: null,
      n: 0,
    });

    // What the owner writes, the stranger still cannot read.
    expect(
      await insertWebhookAttempt(db.db, {
        tenantId: owner,
        deliveryId: id,
        attempt: 1,
        durationMs: 1,
      }),
    ).toBe(true);
    expect(
      (await listDeliveryAttempts(db.db, { tenantId: stranger, deliveryIds: [id] })).size,
    ).toBe(0);
    expect(
      (await listDeliveryAttempts(db.db, { tenantId: owner, deliveryIds: [id] })).get(id),
    ).toHaveLength(1);
  });
});
