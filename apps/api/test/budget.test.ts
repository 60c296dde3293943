import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  AUDIO_URL,
  counts,
  createVoice,
  settleVoice,
  startApi,
  submitJobIds,
} from './harness.js';

const voice = { audio: AUDIO_URL, custom_voice_id: 'narrator01' };
// 100 characters each: 0.031 a line on speech-02-hd's public price.
const lines = (n: number) => Array.from({ length: n }, () => ({ text: 'x'.repeat(100) }));

describe('batch cost and max_cost', () => {
  let api: Api;
  let key: string;
  beforeAll(async () => {
    // A price override, to see the configured list used rather than the public one.
    api = await startApi({ RUNNINGHUB_PRICES: '{"speech-02-turbo": 0.1}' });
    ({ key } = await api.tenant());
  });
  afterAll(async () => {
    await api?.close();
  });

  async function refusedWritingNothing(body: Record<string, unknown>) {
    const before = await counts(api.database);
    const queued = await submitJobIds(api.queues);
    const res = await api.request('POST', '/v1/batches', { key, body });
    expect(res.statusCode).toBe(422);
    expect(await counts(api.database)).toEqual(before);
    expect(await submitJobIds(api.queues)).toEqual(queued);
    return res.json().error;
  }

  it('refuses a batch whose estimate, a new voice clone included, is over max_cost', async () => {
    // 10 lines at 0.031 and one clone at 3.12: 3.43.
    const error = await refusedWritingNothing({ voice, lines: lines(10), max_cost: 3.4 });
    expect(error).toMatchObject({
      code: 'budget_exceeded',
      details: { estimated: 3.43, max_cost: 3.4, currency: 'CNY' },
    });
    const ok = await api.request('POST', '/v1/batches', {
      key,
      body: { voice, lines: lines(10), max_cost: 3.43 },
    });
    expect(ok.statusCode).toBe(202);
    expect(ok.json().cost.estimated).toBe(3.43);

    // Now the voice exists: the same batch is only its lines.
    const reuse = await api.request('POST', '/v1/batches', {
      key,
      body: { voice, lines: lines(10), max_cost: 0.31 },
    });
    expect(reuse.statusCode).toBe(202);
    expect(reuse.json()).toMatchObject({
      voice_id: ok.json().voice_id,
      cost: { estimated: 0.31 },
    });
  });

  it('counts every line of per_line_clone batches and speech lines at their model', async () => {
    const perLine = await refusedWritingNothing({
      per_line_clone: true,
      voice,
      lines: lines(3),
      max_cost: 9,
    });
    expect(perLine.details.estimated).toBe(9.36);
    const ready = await createVoice(api, key);
    await settleVoice(api.database, ready.id, { status: 'ready' });
    // 1,000 lines of 100 characters at the configured 0.1 per 1,000.
    const turbo = await refusedWritingNothing({
      voice_id: ready.id,
      model: 'speech-02-turbo',
      lines: lines(1_000),
      max_cost: 9.99,
    });
    expect(turbo.details.estimated).toBe(10);
    const zero = await refusedWritingNothing({
      system_voice: 'Wise_Woman',
      lines: lines(1),
      max_cost: 0,
    });
    expect(zero.details).toEqual({ estimated: 0.031, max_cost: 0, currency: 'CNY' });
  });

  it('sums the actual cost of lines and of the voice the batch created', async () => {
    const res = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: { ...voice, accuracy: 0.5 }, lines: lines(4), max_cost: 10 },
    });
    const batch = res.json();
    const view = async () => (await api.request('GET', `/v1/batches/${batch.id}`, { key })).json();
    expect(await view()).toMatchObject({
      max_cost: 10,
      cost: { estimated: 3.244, actual: null, currency: 'CNY' },
    });

    const { rows } = await api.database.pool.query(
      'select id from clone_jobs where batch_id = $1 order by line_index',
      [batch.id],
    );
    await api.database.pool.query(
      'update clone_jobs set actual_cost = 0.03 where id = any($1::uuid[])',
      [rows.slice(0, 2).map((r) => r.id)],
    );
    expect((await view()).cost).toEqual({
      estimated: 3.244,
      actual: 0.06,
      currency: 'CNY',
      reused: 0,
      saved: 0,
    });
    await api.database.pool.query(
      `update clone_jobs set actual_cost = 3.12
        where voice_id = $1 and kind = 'voice_clone'`,
      [batch.voice_id],
    );
    expect((await view()).cost).toEqual({
      estimated: 3.244,
      actual: 3.18,
      currency: 'CNY',
      reused: 0,
      saved: 0,
    });
    // counts are the lines only, as before.
    expect((await view()).counts).toMatchObject({ queued: 4 });

    // A batch that reused the voice does not pay for its clone.
    const reuse = await api.request('POST', '/v1/batches', {
      key,
      body: { voice: { ...voice, accuracy: 0.5 }, lines: lines(1) },
    });
    const reused = await api.request('GET', `/v1/batches/${reuse.json().id}`, { key });
    expect(reused.json().cost).toEqual({
      estimated: 0.031,
      actual: null,
      currency: 'CNY',
      reused: 0,
      saved: 0,
    });
  });
});
