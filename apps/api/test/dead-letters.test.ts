import {
  completeBatchIfDone,
  getBatch,
  getCloneJob,
  insertDeadLetter,
  listCloneJobEvents,
  transitionCloneJob,
} from '@voxline/db';
import { jobIds, PRIORITY } from '@voxline/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, AUDIO_URL, cloneBody, startApi } from './harness.js';

describe('dead letters', () => {
  let api: Api;
  let key: string;
  let tenantId: string;
  beforeAll(async () => {
    api = await startApi();
    ({ key, id: tenantId } = await api.tenant());
  });
  afterAll(async () => {
    await api?.close();
  });

  /** What the worker does when a job fails for good: `failed`, then a dead-letter row. */
  async function failJob(id: string, errorCode: string, owner = tenantId) {
    const db = api.database.db;
    await transitionCloneJob(db, {
      tenantId: owner,
      id,
      from: ['queued'],
      to: 'submitting',
      set: { attempts: 1 },
    });
    await transitionCloneJob(db, {
      tenantId: owner,
      id,
      from: ['submitting'],
      to: 'running',
      set: { upstreamTaskId: '2013508786110730241', submittedAt: new Date() },
    });
    const job = await transitionCloneJob(db, {
      tenantId: owner,
      id,
      from: ['running'],
      to: 'failed',
      set: { errorCode, errorMessage: `upstream said ${errorCode}` },
    });
    if (!job) throw new Error('job did not fail');
    if (job.batchId) await completeBatchIfDone(db, { tenantId: owner, batchId: job.batchId });
    return insertDeadLetter(db, {
      tenantId: job.tenantId,
      cloneJobId: job.id,
      batchId: job.batchId,
      sourceQueue: 'clone-poll',
      bullJobId: jobIds.poll(job.id, job.run),
      run: job.run,
      attempts: job.attempts,
      errorCode,
      errorMessage: `upstream said ${errorCode}`,
      lastResponse: { status: 'FAILED', errorCode },
    });
  }

  async function newClone(k = key) {
    const res = await api.request('POST', '/v1/clones', { key: k, body: cloneBody() });
    return res.json().id as string;
  }

  it('lists dead letters with filters and cursor pagination', async () => {
    const batch = await api.request('POST', '/v1/batches', {
      key,
      body: {
        voice: { audio: AUDIO_URL, custom_voice_id: 'narrator01' },
        lines: [{ text: 'one' }, { text: 'two' }, { text: 'three' }],
      },
    });
    const { rows } = await api.database.pool.query(
      'select id from clone_jobs where batch_id = $1 order by line_index',
      [batch.json().id],
    );
    const since = new Date();
    for (const [i, row] of rows.entries()) await failJob(row.id, i === 0 ? '1501' : '2039');
    await failJob(await newClone(), '1501');

    const all = await api.request('GET', '/v1/dead-letters', { key });
    expect(all.statusCode).toBe(200);
    expect(all.json().data).toHaveLength(4);
    expect(all.json().data[0]).toMatchObject({
      object: 'dead_letter',
      clone_id: rows[0].id,
      batch_id: batch.json().id,
      source_queue: 'clone-poll',
      error: { code: '1501', message: 'upstream said 1501' },
      last_response: { status: 'FAILED', errorCode: '1501' },
      redriven_at: null,
    });

    const byBatch = await api.request('GET', `/v1/dead-letters?batch_id=${batch.json().id}`, {
      key,
    });
    expect(byBatch.json().data).toHaveLength(3);
    const byCode = await api.request('GET', '/v1/dead-letters?error_code=1501', { key });
    expect(byCode.json().data.map((d: { error: { code: string } }) => d.error.code)).toEqual([
      '1501',
      '1501',
    ]);
    const future = await api.request(
      'GET',
      `/v1/dead-letters?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      { key },
    );
    expect(future.json().data).toHaveLength(0);
    const recent = await api.request(
      'GET',
      `/v1/dead-letters?since=${encodeURIComponent(since.toISOString())}`,
      { key },
    );
    expect(recent.json().data).toHaveLength(4);

    const first = await api.request('GET', '/v1/dead-letters?limit=3', { key });
    expect(first.json().data).toHaveLength(3);
    const second = await api.request(
      'GET',
      `/v1/dead-letters?limit=3&cursor=${first.json().next_cursor}`,
      { key },
    );
    expect(second.json().data).toHaveLength(1);
    expect(second.json().next_cursor).toBeNull();
    expect([...first.json().data, ...second.json().data].map((d: { id: string }) => d.id)).toEqual(
      all.json().data.map((d: { id: string }) => d.id),
    );

    const nul = await api.request('GET', '/v1/dead-letters?error_code=%00', { key });
    expect(nul.statusCode).toBe(400);
    const bad = await api.request('GET', '/v1/dead-letters?since=yesterday&batch_id=x', { key });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
    ).toEqual(['batch_id', 'since']);
  });

  it('redrives a failed job as a new run, keeping its history', async () => {
    const id = await newClone();
    const letter = await failJob(id, '1005');
    const before = await listCloneJobEvents(api.database.db, { tenantId, cloneJobId: id });

    const res = await api.request('POST', '/v1/dead-letters/redrive', {
      key,
      body: { ids: [letter.id] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ redriven: 1, ids: [letter.id], clone_ids: [id] });

    const job = await getCloneJob(api.database.db, { tenantId, id });
    expect(job).toMatchObject({
      status: 'queued',
      run: 2,
      attempts: 1,
      errorCode: null,
      errorMessage: null,
      upstreamTaskId: null,
      submittedAt: null,
      completedAt: null,
    });
    const bull = await api.queues.cloneSubmit.getJob(jobIds.submit(id, 2));
    expect(bull?.data).toEqual({ cloneJobId: id, tenantId, run: 2 });
    expect(bull?.opts.priority).toBe(PRIORITY.interactive);

    const events = await listCloneJobEvents(api.database.db, { tenantId, cloneJobId: id });
    expect(events.slice(0, before.length)).toEqual(before);
    expect(events.at(-1)).toMatchObject({
      fromStatus: 'failed',
      toStatus: 'queued',
      detail: { redrive: true, deadLetterId: letter.id },
    });
    const { rows } = await api.database.pool.query(
      'select redriven_at from dead_letters where id = $1',
      [letter.id],
    );
    expect(rows[0].redriven_at).toBeInstanceOf(Date);

    // Redriven letters leave the default listing, stay in the full one, and are not redriven twice.
    const listed = await api.request('GET', '/v1/dead-letters', { key });
    expect(listed.json().data.map((d: { id: string }) => d.id)).not.toContain(letter.id);
    const history = await api.request('GET', '/v1/dead-letters?include_redriven=true', { key });
    const old = history.json().data.find((d: { id: string }) => d.id === letter.id);
    expect(old.redriven_at).not.toBeNull();
    const twice = await api.request('POST', '/v1/dead-letters/redrive', {
      key,
      body: { ids: [letter.id] },
    });
    expect(twice.json().redriven).toBe(0);
  });

  it('redrives a batch, reopening it so it completes again, and by error code', async () => {
    const batch = await api.request('POST', '/v1/batches', {
      key,
      body: {
        voice: { audio: AUDIO_URL, custom_voice_id: 'narrator01' },
        lines: [{ text: 'a' }, { text: 'b' }],
      },
    });
    const batchId = batch.json().id;
    const { rows } = await api.database.pool.query(
      'select id from clone_jobs where batch_id = $1 order by line_index',
      [batchId],
    );
    for (const row of rows) await failJob(row.id, '1012');
    expect((await getBatch(api.database.db, { tenantId, id: batchId }))?.status).toBe('completed');

    const res = await api.request('POST', '/v1/dead-letters/redrive', {
      key,
      body: { batch_id: batchId },
    });
    expect(res.json().redriven).toBe(2);
    const reopened = await getBatch(api.database.db, { tenantId, id: batchId });
    expect(reopened).toMatchObject({ status: 'running', completedAt: null });
    for (const row of rows) {
      const bull = await api.queues.cloneSubmit.getJob(jobIds.submit(row.id, 2));
      expect(bull?.opts.priority).toBe(PRIORITY.batch);
    }

    const single = await newClone();
    await failJob(single, '1010');
    const byCode = await api.request('POST', '/v1/dead-letters/redrive', {
      key,
      body: { error_code: '1010' },
    });
    expect(byCode.json()).toMatchObject({ redriven: 1, clone_ids: [single] });
  });

  it('wants exactly one selector', async () => {
    for (const body of [
      {},
      { ids: [], batch_id: undefined },
      { batch_id: crypto.randomUUID(), error_code: 'x' },
    ]) {
      const res = await api.request('POST', '/v1/dead-letters/redrive', { key, body });
      expect(res.statusCode).toBe(400);
    }
  });

  it("neither lists nor redrives another tenant's dead letters", async () => {
    const other = await api.tenant('other');
    const theirs = await failJob(await newClone(other.key), '1501', other.id);
    const listed = await api.request('GET', '/v1/dead-letters?include_redriven=true', { key });
    expect(listed.json().data.map((d: { id: string }) => d.id)).not.toContain(theirs.id);
    const res = await api.request('POST', '/v1/dead-letters/redrive', {
      key,
      body: { ids: [theirs.id] },
    });
    expect(res.json().redriven).toBe(0);
    const job = await getCloneJob(api.database.db, { tenantId: other.id, id: theirs.cloneJobId });
    expect(job?.status).toBe('failed');
  });
});
