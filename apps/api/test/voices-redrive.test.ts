import { insertDeadLetter, transitionCloneJob } from '@voxline/db';
import { jobIds } from '@voxline/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, createVoice, settleVoice, startApi } from './harness.js';

describe('redriving lines whose voice failed', () => {
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

  /** What the worker does to a job that fails for good: `failed`, then its dead letter. */
  async function failJob(id: string, errorCode: string) {
    const job = await transitionCloneJob(api.database.db, {
      tenantId,
      id,
      from: ['queued'],
      to: 'failed',
      set: { errorCode, errorMessage: `voice clone failed: ${errorCode}` },
    });
    if (!job) throw new Error(`job ${id} did not fail`);
    await insertDeadLetter(api.database.db, {
      tenantId,
      cloneJobId: job.id,
      batchId: job.batchId,
      sourceQueue: 'clone-submit',
      bullJobId: jobIds.submit(job.id, job.run),
      run: job.run,
      attempts: job.attempts,
      errorCode,
      errorMessage: `voice clone failed: ${errorCode}`,
      lastResponse: null,
    });
  }

  async function voiceRow(id: string) {
    const { rows } = await api.database.pool.query(
      'select status, clones, clone_job_id, error_code from voices where id = $1',
      [id],
    );
    return rows[0];
  }

  it('clones the voice again once, then redrives the lines, which wait for it', async () => {
    const voice = await createVoice(api, key);
    const firstClone = (await voiceRow(voice.id)).clone_job_id;
    const batch = await api.request('POST', '/v1/batches', {
      key,
      body: { voice_id: voice.id, lines: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] },
    });
    const { rows: lines } = await api.database.pool.query(
      'select id from clone_jobs where batch_id = $1 order by line_index',
      [batch.json().id],
    );
    await failJob(firstClone, '2037');
    await settleVoice(api.database, voice.id, { status: 'failed', code: '2037' });
    for (const line of lines) await failJob(line.id, '2037');

    const res = await api.request('POST', '/v1/dead-letters/redrive', {
      key,
      body: { ids: lines.map((l) => l.id) },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().redriven).toBe(3);

    const after = await voiceRow(voice.id);
    expect(after).toMatchObject({ status: 'cloning', clones: 2, error_code: null });
    expect(after.clone_job_id).not.toBe(firstClone);
    const { rows: tasks } = await api.database.pool.query(
      `select id, status, request->>'custom_voice_id' as base from clone_jobs
        where voice_id = $1 and kind = 'voice_clone' order by id`,
      [voice.id],
    );
    expect(tasks).toEqual([
      { id: firstClone, status: 'failed', base: `vx${voice.id.replaceAll('-', '')}` },
      { id: after.clone_job_id, status: 'queued', base: `vx${voice.id.replaceAll('-', '')}` },
    ]);
    expect(await api.queues.cloneSubmit.getJob(jobIds.submit(after.clone_job_id, 1))).toBeDefined();
    for (const line of lines) {
      expect(await api.queues.cloneSubmit.getJob(jobIds.submit(line.id, 2))).toBeDefined();
    }
    const got = await api.request('GET', `/v1/voices/${voice.id}`, { key });
    expect(got.json()).toMatchObject({ status: 'cloning', clones: 2, error: null });
    expect(got.json().cost.estimated).toBe(6.24);
  });

  it("redriving a voice's own clone task puts the voice back to cloning, with no new task", async () => {
    const voice = await createVoice(api, key);
    const clone = (await voiceRow(voice.id)).clone_job_id;
    await failJob(clone, '1002');
    await settleVoice(api.database, voice.id, { status: 'failed', code: '1002' });

    const res = await api.request('POST', '/v1/dead-letters/redrive', {
      key,
      body: { ids: [clone] },
    });
    expect(res.json().redriven).toBe(1);
    expect(await voiceRow(voice.id)).toMatchObject({
      status: 'cloning',
      clones: 1,
      clone_job_id: clone,
      error_code: null,
    });
    expect(await api.queues.cloneSubmit.getJob(jobIds.submit(clone, 2))).toBeDefined();
  });
});
