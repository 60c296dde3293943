import { createTestDatabase, type TestDatabase } from '@voxline/testing';
import { getTableColumns } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVE_STATUSES,
  CLONE_STATUSES,
  cloneJobs,
  createTenant,
  createVoiceWithClone,
  getCloneJob,
  insertBatch,
  insertCloneJobs,
  isActiveStatus,
  isTerminalStatus,
  listCloneJobEvents,
  type NewCloneJob,
  newId,
  TERMINAL_STATUSES,
  transitionCloneJob,
  transitionCloneJobs,
} from '../src/index.js';
import { request } from './fixtures.js';

describe('clone job writes', () => {
  let db: TestDatabase;
  let tenantId: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    tenantId = (await createTenant(db.db, { name: 'acme' })).tenant.id;
  });
  afterAll(async () => {
    await db.drop();
  });

  async function newBatch(): Promise<string> {
    const batch = await insertBatch(db.db, {
      id: newId(),
      tenantId,
      status: 'running',
      total: 3,
      voice: request,
      requestHash: 'batch-hash',
    });
    return batch.id;
  }

  it('stores every column of the table, none left to its default', async () => {
    const batchId = await newBatch();
    const { voice } = await createVoiceWithClone(db.db, {
      voice: {
        id: newId(),
        tenantId,
        audioUrl: request.audio,
        settings: {
          model: 'speech-02-hd',
          need_noise_reduction: false,
          need_volume_normalization: false,
        },
        previewText: 'preview',
        settingsHash: 'settings-7',
      },
      priority: 1,
      estimatedCost: 3.12,
    });
    // Required: a column added to the table fails to compile here until the row sets it.
    const row: Required<NewCloneJob> = {
      id: newId(),
      tenantId,
      batchId,
      lineIndex: 7,
      ref: 'line-7',
      status: 'running',
      kind: 'speech',
      voiceId: voice.id,
      priority: 3,
      request: { model: 'speech-02-hd', text: 'line seven', speed: 1.25 },
      estimatedCost: 0.00031,
      actualCost: 0.0003,
      upstreamAccount: 'tenant-7',
      canonicalHash: 'canonical-7',
      reusedFrom: null,
      savedCost: 0.00031,
      callbackTokenHash: 'token-hash-7',
      webhookUrl: 'https://hooks.example.com/x',
      metadata: { chapter: 2 },
      idempotencyKey: 'k-7',
      requestHash: 'h-7',
      attempts: 2,
      run: 3,
      upstreamTaskId: 'task-7',
      submittedAt: new Date('2026-01-02T03:04:05.678Z'),
      errorCode: 'E',
      errorMessage: 'message',
      createdAt: new Date('2026-01-01T00:00:00.000Z'),
      updatedAt: new Date('2026-01-02T00:00:00.000Z'),
      completedAt: new Date('2026-01-03T00:00:00.000Z'),
    };
    expect(Object.keys(row).sort()).toEqual(Object.keys(getTableColumns(cloneJobs)).sort());
    await insertCloneJobs(db.db, [row]);
    expect(await getCloneJob(db.db, { tenantId, id: row.id })).toEqual(row);
    const events = await listCloneJobEvents(db.db, { tenantId, cloneJobId: row.id });
    expect(events.map((e) => [e.fromStatus, e.toStatus])).toEqual([[null, 'queued']]);
  });

  it('refuses rows that set a column only some of the others set', async () => {
    const rows = [
      { id: newId(), tenantId, priority: 1, request, ref: 'a' },
      { id: newId(), tenantId, priority: 1, request },
    ];
    await expect(insertCloneJobs(db.db, rows)).rejects.toThrow(/row 1 leaves ref unset/);
    expect(await getCloneJob(db.db, { tenantId, id: rows[0]?.id ?? '' })).toBeNull();
  });

  it("moves a batch's lines in line order, up to the limit, each with its event", async () => {
    const batchId = await newBatch();
    const ids = [newId(), newId(), newId()];
    await insertCloneJobs(
      db.db,
      ids.map((id, lineIndex) => ({ id, tenantId, batchId, lineIndex, priority: 10, request })),
    );
    await transitionCloneJob(db.db, {
      tenantId,
      id: ids[0] ?? '',
      from: ['queued'],
      to: 'submitting',
    });
    const first = await transitionCloneJobs(db.db, {
      tenantId,
      target: { batchId, limit: 2 },
      from: ACTIVE_STATUSES,
      to: 'canceled',
      detail: { reason: 'test' },
    });
    expect(first.map((j) => j.lineIndex).sort()).toEqual([0, 1]);
    expect(first.every((j) => j.status === 'canceled' && j.completedAt !== null)).toBe(true);
    const events = await listCloneJobEvents(db.db, { tenantId, cloneJobId: ids[0] ?? '' });
    expect(events.at(-1)).toMatchObject({
      fromStatus: 'submitting',
      toStatus: 'canceled',
      detail: { reason: 'test' },
    });
    const rest = await transitionCloneJobs(db.db, {
      tenantId,
      target: { batchId, limit: 2 },
      from: ACTIVE_STATUSES,
      to: 'canceled',
    });
    expect(rest.map((j) => j.id)).toEqual([ids[2]]);
  });

  it('merges per-job detail into the shared detail, and moves nothing of another tenant', async () => {
    const other = (await createTenant(db.db, { name: 'other' })).tenant.id;
    const mine = newId();
    const theirs = newId();
    await insertCloneJobs(db.db, [{ id: mine, tenantId, priority: 1, request }]);
    await insertCloneJobs(db.db, [{ id: theirs, tenantId: other, priority: 1, request }]);
    const moved = await transitionCloneJobs(db.db, {
      tenantId,
      target: { ids: [mine, theirs] },
      from: ['queued'],
      to: 'failed',
      detail: { shared: true },
      detailById: new Map([[mine, { own: 1 }]]),
    });
    expect(moved.map((j) => j.id)).toEqual([mine]);
    const [, event] = await listCloneJobEvents(db.db, { tenantId, cloneJobId: mine });
    expect(event?.detail).toEqual({ shared: true, own: 1 });
    expect((await getCloneJob(db.db, { tenantId: other, id: theirs }))?.status).toBe('queued');
  });

  it('has status predicates that agree with the enums and the active-jobs index', async () => {
    for (const status of CLONE_STATUSES) {
      expect(isActiveStatus(status)).toBe((ACTIVE_STATUSES as readonly string[]).includes(status));
      expect(isTerminalStatus(status)).toBe(
        (TERMINAL_STATUSES as readonly string[]).includes(status),
      );
      expect(isActiveStatus(status)).toBe(!isTerminalStatus(status));
    }
    const { rows } = await db.pool.query(
      `select pg_get_expr(indpred, indrelid) as predicate from pg_index
        where indexrelid = 'clone_jobs_active_idx'::regclass`,
    );
    const listed = [...String(rows[0]?.predicate).matchAll(/'(\w+)'/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...ACTIVE_STATUSES].sort());
  });
});
