import { jobIds, PRIORITY } from '@voxline/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, AUDIO_URL, createVoice, settleVoice, startApi } from './harness.js';

const voice = { audio: AUDIO_URL, custom_voice_id: 'narrator01' };
const lines = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `Line ${i}.` }));

describe("a batch's inline voice", () => {
  let api: Api;
  let key: string;
  beforeAll(async () => {
    api = await startApi();
    ({ key } = await api.tenant());
  });
  afterAll(async () => {
    await api?.close();
  });

  async function voicesOf(tenantKey = key) {
    const res = await api.request('GET', '/v1/voices?limit=1000', { key: tenantKey });
    return res.json().data as Array<{ id: string; status: string; name: string | null }>;
  }

  async function cloneTasks(voiceId: string) {
    const { rows } = await api.database.pool.query(
      `select id, priority, batch_id from clone_jobs where voice_id = $1 and kind = 'voice_clone'`,
      [voiceId],
    );
    return rows;
  }

  it('is cloned once into a voice the batch created, and its lines are spoken with it', async () => {
    const res = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: { ...voice, model: 'speech-2.8-hd' }, lines: lines(20) },
    });
    expect(res.statusCode).toBe(202);
    const batch = res.json();
    expect(batch.voice_id).toEqual(expect.any(String));
    // 150 characters (20 lines) at 0.62 per 1,000, and one clone.
    expect(batch.cost).toEqual({
      estimated: 3.213,
      actual: null,
      currency: 'CNY',
      reused: 0,
      saved: 0,
    });

    const { rows } = await api.database.pool.query(
      'select status, name, created_by_batch_id, clones, audio_url, settings from voices where id = $1',
      [batch.voice_id],
    );
    expect(rows[0]).toEqual({
      status: 'cloning',
      name: 'narrator01',
      created_by_batch_id: batch.id,
      clones: 1,
      audio_url: AUDIO_URL,
      settings: {
        model: 'speech-2.8-hd',
        need_noise_reduction: false,
        need_volume_normalization: false,
      },
    });
    const tasks = await cloneTasks(batch.voice_id);
    expect(tasks).toEqual([
      { id: expect.any(String), priority: PRIORITY.interactive, batch_id: null },
    ]);
    expect(await api.queues.cloneSubmit.getJob(jobIds.submit(tasks[0].id, 1))).toBeDefined();

    const { rows: lineRows } = await api.database.pool.query(
      `select distinct kind, voice_id, request->>'model' as model from clone_jobs where batch_id = $1`,
      [batch.id],
    );
    // With no batch model, the lines use the voice's model (a speech model).
    expect(lineRows).toEqual([
      { kind: 'speech', voice_id: batch.voice_id, model: 'speech-2.8-hd' },
    ]);

    const got = await api.request('GET', `/v1/batches/${batch.id}`, { key });
    expect(got.json().cost).toEqual({
      estimated: 3.213,
      actual: null,
      currency: 'CNY',
      reused: 0,
      saved: 0,
    });
  });

  it('reuses an identical voice the tenant has, cloning nothing', async () => {
    const first = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: { ...voice, accuracy: 0.6 }, lines: lines(3) },
    });
    const before = (await voicesOf()).length;
    // Another custom_voice_id, the same reference and settings: the same voice.
    const second = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: { ...voice, custom_voice_id: 'other0001', accuracy: 0.6 }, lines: lines(4) },
    });
    expect(second.statusCode).toBe(202);
    expect(second.json().voice_id).toBe(first.json().voice_id);
    // Only its lines: 4 × 7 characters at 0.31 per 1,000.
    expect(second.json().cost.estimated).toBe(0.00868);
    expect((await voicesOf()).length).toBe(before);
    expect(await cloneTasks(first.json().voice_id)).toHaveLength(1);

    // Other settings are another voice.
    const third = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: { ...voice, accuracy: 0.9 }, lines: lines(1) },
    });
    expect(third.json().voice_id).not.toBe(first.json().voice_id);
  });

  it('reuses a voice made by POST /v1/voices, but not a failed or deleted one', async () => {
    const made = await createVoice(api, key, { need_volume_normalization: true });
    await settleVoice(api.database, made.id, { status: 'ready' });
    const inline = { ...voice, need_volume_normalization: true };
    const reused = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: inline, lines: lines(1) },
    });
    expect(reused.json().voice_id).toBe(made.id);

    await settleVoice(api.database, made.id, { status: 'failed', code: '2037' });
    const afterFailure = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: inline, lines: lines(1) },
    });
    expect(afterFailure.statusCode).toBe(202);
    const fresh = afterFailure.json().voice_id;
    expect(fresh).not.toBe(made.id);

    await api.request('POST', `/v1/batches/${afterFailure.json().id}/cancel`, { key });
    expect((await api.request('DELETE', `/v1/voices/${fresh}`, { key })).statusCode).toBe(204);
    const afterDelete = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: inline, lines: lines(1) },
    });
    expect([made.id, fresh]).not.toContain(afterDelete.json().voice_id);
  });

  it("never reuses another tenant's voice", async () => {
    const { key: other } = await api.tenant('other');
    const body = { voice: { ...voice, language_boost: 'German' }, lines: lines(1) };
    const mine = await api.request('POST', '/v1/batches', { key, body });
    const theirs = await api.request('POST', '/v1/batches', { key: other, body });
    expect(theirs.json().voice_id).not.toBe(mine.json().voice_id);
    expect((await voicesOf(other)).map((v) => v.id)).toEqual([theirs.json().voice_id]);
  });

  it('creates one voice when identical batches race', async () => {
    const body = { voice: { ...voice, language_boost: 'French' }, lines: lines(2) };
    const results = await Promise.all(
      Array.from({ length: 4 }, () => api.request('POST', '/v1/batches', { key, body })),
    );
    expect(results.map((r) => r.statusCode)).toEqual([202, 202, 202, 202]);
    expect(new Set(results.map((r) => r.json().voice_id)).size).toBe(1);
  });

  it('with per_line_clone, keeps one voice clone a line and makes no voice', async () => {
    const before = (await voicesOf()).length;
    const res = await api.request('POST', '/v1/batches', {
      key,
      body: { per_line_clone: true, voice, lines: lines(5), max_cost: 100 },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ voice_id: null, cost: { estimated: 15.6 } });
    const { rows } = await api.database.pool.query(
      `select kind, voice_id, request->>'custom_voice_id' as id, estimated_cost::float as cost
         from clone_jobs where batch_id = $1`,
      [res.json().id],
    );
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.kind === 'voice_clone' && r.voice_id === null)).toBe(true);
    expect(rows.every((r) => r.id === 'narrator01' && r.cost === 3.12)).toBe(true);
    expect((await voicesOf()).length).toBe(before);
  });
});
