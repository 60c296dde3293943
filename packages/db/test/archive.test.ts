import { createTestDatabase, type TestDatabase } from '@voxline/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArchivedFile,
  createTenant,
  findArchivableResult,
  getAudioResult,
  getCloneJob,
  getCloneJobWithResult,
  insertCloneJobs,
  listExpiredStorageKeys,
  markAudioPurged,
  newId,
  setArchivedAudios,
  storeTaskResult,
  transitionCloneJob,
} from '../src/index.js';
import { request } from './fixtures.js';

const task = (taskId: string, url = `https://cdn.example.com/${taskId}.wav`) => ({
  taskId,
  usage: {
    consumeMoney: '0.5',
    consumeCoins: null,
    taskCostTime: '3',
    thirdPartyConsumeMoney: null,
  },
  raw: { taskId },
  audio: { url, type: 'wav' },
});

const file = (key: string): ArchivedFile => ({
  key,
  sha256: 'a'.repeat(64),
  bytes: 1234,
  format: 'wav',
  contentType: 'audio/wav',
  durationMs: 1500,
  sampleRate: 16_000,
  channels: 1,
});

describe('the archive repository', () => {
  let db: TestDatabase;
  let tenantId: string;
  let stranger: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    tenantId = (await createTenant(db.db, { name: 'owner' })).tenant.id;
    stranger = (await createTenant(db.db, { name: 'stranger' })).tenant.id;
  });
  afterAll(async () => {
    await db.drop();
  });

  async function runningJob(): Promise<string> {
    const id = newId();
    await insertCloneJobs(db.db, [{ id, tenantId, priority: 1, request }]);
    for (const [from, to] of [
      ['queued', 'submitting'],
      ['submitting', 'running'],
    ] as const) {
      await transitionCloneJob(db.db, { tenantId, id, from: [from], to });
    }
    return id;
  }

  it('stores a running job’s result with its cost; another tenant’s id writes nothing', async () => {
    const id = await runningJob();
    const expires = new Date(Date.now() + 60_000);
    expect(
      await storeTaskResult(db.db, {
        tenantId: stranger,
        cloneJobId: id,
        task: task('1'),
        urlExpiresAt: expires,
        actualCost: 0.5,
      }),
    ).toBeNull();
    expect(await getAudioResult(db.db, { tenantId, cloneJobId: id })).toBeNull();

    const row = await storeTaskResult(db.db, {
      tenantId,
      cloneJobId: id,
      task: task('1'),
      urlExpiresAt: expires,
      actualCost: 0.5,
    });
    expect(row).toMatchObject({ upstreamTaskId: '1', archivedAt: null });
    expect((await getCloneJob(db.db, { tenantId, id }))?.actualCost).toBe(0.5);
    expect(
      (await findArchivableResult(db.db, { tenantId, cloneJobId: id, now: new Date() }))?.url,
    ).toBe(row?.url);
    // A link past its expiry is not worth an archive step: the line is paid for afresh.
    expect(
      await findArchivableResult(db.db, {
        tenantId,
        cloneJobId: id,
        now: new Date(Date.now() + 120_000),
      }),
    ).toBeNull();

    // A later task of the job replaces an unarchived result...
    const replaced = await storeTaskResult(db.db, {
      tenantId,
      cloneJobId: id,
      task: task('2'),
      urlExpiresAt: expires,
      actualCost: 0.5,
    });
    expect(replaced?.upstreamTaskId).toBe('2');
    // ...but never an archived one.
    expect(
      await setArchivedAudios(db.db, [{ tenantId: stranger, cloneJobId: id, file: file('k') }]),
    ).toEqual([]);
    const [archived, ...others] = await setArchivedAudios(db.db, [
      { tenantId, cloneJobId: id, file: file(`${tenantId}/${id}-1.wav`) },
    ]);
    expect(others).toEqual([]);
    expect(archived).toMatchObject({
      storageKey: `${tenantId}/${id}-1.wav`,
      bytes: 1234,
      channels: 1,
    });
    expect(archived?.archivedAt).toBeInstanceOf(Date);
    const kept = await storeTaskResult(db.db, {
      tenantId,
      cloneJobId: id,
      task: task('3'),
      urlExpiresAt: expires,
      actualCost: 0.5,
    });
    expect(kept?.upstreamTaskId).toBe('2');
    expect(
      await findArchivableResult(db.db, { tenantId, cloneJobId: id, now: new Date() }),
    ).toBeNull();
  });

  it('records the files of several jobs in one statement, skipping a job that is not the tenant’s', async () => {
    const [a, b, theirs] = [await runningJob(), await runningJob(), await runningJob()];
    for (const id of [a, b, theirs]) {
      await storeTaskResult(db.db, {
        tenantId,
        cloneJobId: id,
        task: task(id),
        urlExpiresAt: new Date(Date.now() + 60_000),
        actualCost: null,
      });
    }
    const rows = await setArchivedAudios(db.db, [
      { tenantId, cloneJobId: a, file: { ...file(`${tenantId}/a.wav`), bytes: 5_000_000_000 } },
      { tenantId, cloneJobId: b, file: { ...file(`${tenantId}/b.mp3`), format: 'mp3' } },
      { tenantId: stranger, cloneJobId: theirs, file: file(`${stranger}/x.wav`) },
    ]);
    expect(rows.map((r) => r.cloneJobId).sort()).toEqual([a, b].sort());
    expect(await getAudioResult(db.db, { tenantId, cloneJobId: a })).toMatchObject({
      storageKey: `${tenantId}/a.wav`,
      // bigint: a file past 2^31 bytes keeps its size.
      bytes: 5_000_000_000,
      format: 'wav',
      durationMs: 1500,
      sampleRate: 16_000,
      purgedAt: null,
    });
    expect((await getAudioResult(db.db, { tenantId, cloneJobId: b }))?.format).toBe('mp3');
    expect((await getAudioResult(db.db, { tenantId, cloneJobId: theirs }))?.archivedAt).toBeNull();
    expect(await setArchivedAudios(db.db, [])).toEqual([]);
  });

  it('reads a job with its result in one query, and nothing of another tenant’s', async () => {
    const id = await runningJob();
    expect(await getCloneJobWithResult(db.db, { tenantId, id })).toMatchObject({
      job: { id, status: 'running' },
      result: null,
    });
    await storeTaskResult(db.db, {
      tenantId,
      cloneJobId: id,
      task: task('joined'),
      urlExpiresAt: new Date(Date.now() + 60_000),
      actualCost: null,
    });
    expect(await getCloneJobWithResult(db.db, { tenantId, id })).toMatchObject({
      job: { id },
      result: { cloneJobId: id, upstreamTaskId: 'joined' },
    });
    expect(await getCloneJobWithResult(db.db, { tenantId: stranger, id })).toBeNull();
  });

  it('lists a shared stored file once for retention, and marks every row holding it purged', async () => {
    const [a, b, fresh] = [await runningJob(), await runningJob(), await runningJob()];
    const shared = `${tenantId}/shared.wav`;
    for (const id of [a, b, fresh]) {
      await storeTaskResult(db.db, {
        tenantId,
        cloneJobId: id,
        task: task(id),
        urlExpiresAt: new Date(),
        actualCost: null,
      });
      await setArchivedAudios(db.db, [
        { tenantId, cloneJobId: id, file: file(id === fresh ? `${tenantId}/fresh.wav` : shared) },
      ]);
    }
    await db.db.execute(
      sql`update audio_results set archived_at = now() - interval '3 days'
           where clone_job_id in (${a}, ${b})`,
    );
    const archivedBefore = new Date(Date.now() - 86_400_000);
    const keys = await listExpiredStorageKeys(db.db, { archivedBefore, limit: 100 });
    expect(keys.filter((k) => k === shared)).toHaveLength(1);
    expect(keys).not.toContain(`${tenantId}/fresh.wav`);

    expect(await markAudioPurged(db.db, { storageKeys: [shared] })).toBe(2);
    for (const id of [a, b]) {
      expect((await getAudioResult(db.db, { tenantId, cloneJobId: id }))?.purgedAt).toBeInstanceOf(
        Date,
      );
    }
    expect((await getAudioResult(db.db, { tenantId, cloneJobId: fresh }))?.purgedAt).toBeNull();
    expect(await listExpiredStorageKeys(db.db, { archivedBefore, limit: 100 })).not.toContain(
      shared,
    );
    expect(await markAudioPurged(db.db, { storageKeys: [] })).toBe(0);
  });
});
