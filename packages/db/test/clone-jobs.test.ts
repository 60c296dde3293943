import { createTestDatabase, type TestDatabase } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  findCloneJobByIdempotencyKey,
  findTenantByApiKey,
  insertCloneJobs,
  listCloneJobEvents,
  newId,
  transitionCloneJob,
} from '../src/index.js';
import { request } from './fixtures.js';

describe('clone job repository', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  async function newJob(tenantId: string, idempotencyKey?: string) {
    const id = newId();
    await insertCloneJobs(db.db, [
      { id, tenantId, priority: 1, request, idempotencyKey: idempotencyKey ?? null },
    ]);
    return id;
  }

  it('finds a tenant by its API key, which is stored only as a hash', async () => {
    const { tenant, apiKey } = await createTenant(db.db, { name: 'acme' });
    expect(apiKey).toMatch(/^vxl_/);
    expect((await findTenantByApiKey(db.db, { apiKey }))?.id).toBe(tenant.id);
    expect(await findTenantByApiKey(db.db, { apiKey: `${apiKey}x` })).toBeNull();
    const { rows } = await db.pool.query('select key_hash from api_keys where tenant_id = $1', [
      tenant.id,
    ]);
    expect(rows[0].key_hash).not.toContain(apiKey);
  });

  it('moves forward only from the expected state and records each transition', async () => {
    const { tenant } = await createTenant(db.db, { name: 't' });
    const id = await newJob(tenant.id);
    const submitting = await transitionCloneJob(db.db, {
      tenantId: tenant.id,
      id,
      from: ['queued'],
      to: 'submitting',
    });
    expect(submitting?.status).toBe('submitting');
    // A late worker that still thinks the job is queued cannot move it.
    expect(
      await transitionCloneJob(db.db, {
        tenantId: tenant.id,
        id,
        from: ['queued'],
        to: 'submitting',
      }),
    ).toBeNull();
    await transitionCloneJob(db.db, {
      tenantId: tenant.id,
      id,
      from: ['submitting'],
      to: 'running',
      set: { upstreamTaskId: '2013508786110730241' },
    });
    const done = await transitionCloneJob(db.db, {
      tenantId: tenant.id,
      id,
      from: ['running'],
      to: 'succeeded',
    });
    expect(done?.completedAt).toBeInstanceOf(Date);
    // Finishing twice, or moving a terminal job backwards, is refused.
    expect(
      await transitionCloneJob(db.db, { tenantId: tenant.id, id, from: ['running'], to: 'failed' }),
    ).toBeNull();
    expect(
      await transitionCloneJob(db.db, {
        tenantId: tenant.id,
        id,
        from: ['running', 'submitting', 'queued'],
        to: 'queued',
      }),
    ).toBeNull();
    const events = await listCloneJobEvents(db.db, { tenantId: tenant.id, cloneJobId: id });
    expect(events.map((e) => [e.fromStatus, e.toStatus])).toEqual([
      [null, 'queued'],
      ['queued', 'submitting'],
      ['submitting', 'running'],
      ['running', 'succeeded'],
    ]);
  });

  it('lets only one of racing workers move a job, and logs the status each move left', async () => {
    const { tenant } = await createTenant(db.db, { name: 'race' });
    const id = await newJob(tenant.id);
    // Ten workers that all saw the job queued: one takes it.
    const taken = await Promise.all(
      Array.from({ length: 10 }, () =>
        transitionCloneJob(db.db, { tenantId: tenant.id, id, from: ['queued'], to: 'submitting' }),
      ),
    );
    expect(taken.filter((r) => r !== null)).toHaveLength(1);
    await transitionCloneJob(db.db, {
      tenantId: tenant.id,
      id,
      from: ['submitting'],
      to: 'running',
    });
    const results = await Promise.all([
      transitionCloneJob(db.db, { tenantId: tenant.id, id, from: ['running'], to: 'succeeded' }),
      transitionCloneJob(db.db, { tenantId: tenant.id, id, from: ['running'], to: 'failed' }),
      transitionCloneJob(db.db, {
        tenantId: tenant.id,
        id,
        from: ['queued', 'running'],
        to: 'canceled',
      }),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const events = await listCloneJobEvents(db.db, { tenantId: tenant.id, cloneJobId: id });
    expect(events.map((e) => e.fromStatus)).toEqual([
      null,
      ...events.slice(0, -1).map((e) => e.toStatus),
    ]);
    expect(events).toHaveLength(4);
  });

  it('keeps idempotency keys unique within a tenant only', async () => {
    const a = (await createTenant(db.db, { name: 'a' })).tenant;
    const b = (await createTenant(db.db, { name: 'b' })).tenant;
    const first = await newJob(a.id, 'order-42');
    await expect(newJob(a.id, 'order-42')).rejects.toThrow();
    const other = await newJob(b.id, 'order-42');
    expect(
      (await findCloneJobByIdempotencyKey(db.db, { tenantId: a.id, idempotencyKey: 'order-42' }))
        ?.id,
    ).toBe(first);
    expect(
      (await findCloneJobByIdempotencyKey(db.db, { tenantId: b.id, idempotencyKey: 'order-42' }))
        ?.id,
    ).toBe(other);
  });
});
