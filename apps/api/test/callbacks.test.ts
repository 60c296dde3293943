import { createHash, randomBytes } from 'node:crypto';
import { transitionCloneJob } from '@voxline/db';
import { callbackKeys, callbackSeenField, enqueue, jobIds } from '@voxline/queue';
import { waitFor } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, counts, startApi } from './harness.js';

/**
 * RunningHub's callbacks: the token in the path is the only credential; a known one is
 * answered at once and wakes the line's poll, an unknown one changes nothing.
 */
describe('POST /callbacks/runninghub/:token', () => {
  let api: Api;
  let tenant: { id: string; key: string };
  beforeAll(async () => {
    api = await startApi();
    tenant = await api.tenant();
  });
  afterAll(async () => {
    await api?.close();
  });

  /** A speech line the worker submitted with a callback token, its poll job delayed. */
  async function submittedLine() {
    const res = await api.request('POST', '/v1/clones', {
      key: tenant.key,
      body: { system_voice: 'Wise_Woman', text: `Line ${randomBytes(4).toString('hex')}.` },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;
    const token = randomBytes(24).toString('base64url');
    const taskId = String(2_000_000_000_000_000 + Math.floor(Math.random() * 1e9));
    const { db } = api.database;
    await transitionCloneJob(db, {
      tenantId: tenant.id,
      id,
      from: ['queued'],
      to: 'submitting',
      set: { callbackTokenHash: createHash('sha256').update(token).digest('hex') },
    });
    await transitionCloneJob(db, {
      tenantId: tenant.id,
      id,
      from: ['submitting'],
      to: 'running',
      set: { upstreamTaskId: taskId, attempts: 1, submittedAt: new Date() },
    });
    await delayPoll(id, taskId);
    return { id, token, taskId };
  }

  async function delayPoll(id: string, taskId: string) {
    const jobId = jobIds.poll(id, 1);
    await api.queues.clonePoll.remove(jobId);
    await enqueue(api.queues, 'clonePoll', [
      {
        jobId,
        data: { cloneJobId: id, tenantId: tenant.id, run: 1, taskId, submittedAt: Date.now() },
        options: { delay: 3_600_000 },
      },
    ]);
    expect(await api.queues.clonePoll.getJobState(jobId)).toBe('delayed');
  }

  const pollState = (id: string) => api.queues.clonePoll.getJobState(jobIds.poll(id, 1));

  async function callbackEvents(id: string) {
    const { rows } = await api.database.pool.query<{ detail: Record<string, unknown> }>(
      `select detail from clone_job_events where clone_job_id = $1 and kind = 'callback_received'`,
      [id],
    );
    return rows.map((r) => r.detail);
  }

  function callback(token: string, body: unknown, headers: Record<string, string> = {}) {
    return api.request('POST', `/callbacks/runninghub/${token}`, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  }

  it('answers 204, wakes the delayed poll, and records the callback once per task', async () => {
    const line = await submittedLine();
    const eventData = JSON.stringify({ taskId: line.taskId, status: 'SUCCESS', results: [] });
    const res = await callback(line.token, { event: 'TASK_END', taskId: line.taskId, eventData });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');

    // The poll job is made to run now: promoted out of the delayed set.
    await waitFor('the poll promoted', async () => (await pollState(line.id)) !== 'delayed');
    expect(['waiting', 'prioritized']).toContain(await pollState(line.id));
    expect(await callbackEvents(line.id)).toEqual([
      expect.objectContaining({ task_id: line.taskId, event: 'TASK_END', run: 1 }),
    ]);
    const prefix = api.config.QUEUE_PREFIX;
    expect(await api.redis.exists(callbackKeys.flag(prefix, line.id, 1))).toBe(1);
    const seen = await api.redis.hget(
      callbackKeys.seen(prefix),
      callbackSeenField('speech', 'speech-02-hd'),
    );
    expect(Number(seen)).toBeGreaterThan(Date.now() - 60_000);

    // RunningHub re-sends (here with eventData as an object, as seen on v2): still one event.
    await delayPoll(line.id, line.taskId);
    const again = await callback(line.token, {
      event: 'TASK_END',
      taskId: line.taskId,
      eventData: { taskId: line.taskId, status: 'SUCCESS' },
    });
    expect(again.statusCode).toBe(204);
    // Promoting the poll is the last thing a callback does: once it ran, the event was decided.
    await waitFor('the poll promoted again', async () => (await pollState(line.id)) !== 'delayed');
    expect(await callbackEvents(line.id)).toHaveLength(1);
  });

  it('an unknown or malformed token is a 404 that changes nothing', async () => {
    const line = await submittedLine();
    const before = await counts(api.database);
    const row = await api.database.pool.query(
      'select status, updated_at from clone_jobs where id = $1',
      [line.id],
    );
    const keysBefore = await api.redis.keys(`${api.config.QUEUE_PREFIX}:callback*`);
    const body = { event: 'TASK_END', taskId: line.taskId, eventData: '{}' };
    for (const token of [
      randomBytes(24).toString('base64url'),
      // The right token with a character changed.
      `${line.token.slice(0, -1)}${line.token.endsWith('A') ? 'B' : 'A'}`,
      'short',
      `${'a'.repeat(40)}.wav`,
    ]) {
      const res = await callback(token, body);
      expect(res.statusCode, token).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    expect(await counts(api.database)).toEqual(before);
    const after = await api.database.pool.query(
      'select status, updated_at from clone_jobs where id = $1',
      [line.id],
    );
    expect(after.rows).toEqual(row.rows);
    expect(await callbackEvents(line.id)).toEqual([]);
    expect(await pollState(line.id)).toBe('delayed');
    expect(await api.redis.keys(`${api.config.QUEUE_PREFIX}:callback*`)).toEqual(keysBefore);
  });

  it('an unreadable body, any content type, from any site, still wakes the poll', async () => {
    const line = await submittedLine();
    const res = await callback(line.token, 'not json at all', {
      'content-type': 'text/plain',
      // Server to server: the browser cross-site check does not apply here.
      'sec-fetch-site': 'cross-site',
    });
    expect(res.statusCode).toBe(204);
    await waitFor('the poll promoted', async () => (await pollState(line.id)) !== 'delayed');
    // Recorded against the line's own task.
    expect(await callbackEvents(line.id)).toEqual([
      expect.objectContaining({ task_id: line.taskId, body_unreadable: true }),
    ]);
  });

  it('takes a callback with no body and no content type', async () => {
    const line = await submittedLine();
    const res = await api.app.inject({
      method: 'POST',
      url: `/callbacks/runninghub/${line.token}`,
    });
    expect(res.statusCode).toBe(204);
    await waitFor('the poll promoted', async () => (await pollState(line.id)) !== 'delayed');
  });

  it('keeps a task id above 2^53 exact, as sent', async () => {
    const line = await submittedLine();
    const raw = `{"event":"TASK_END","taskId":${line.taskId},"eventData":"{}"}`;
    const res = await callback(line.token, raw);
    expect(res.statusCode).toBe(204);
    await waitFor('the poll promoted', async () => (await pollState(line.id)) !== 'delayed');
    expect(await callbackEvents(line.id)).toEqual([
      expect.objectContaining({ task_id: line.taskId }),
    ]);
    expect((await callbackEvents(line.id))[0]).not.toHaveProperty('upstream_task_id');
  });
});
