import { randomBytes } from 'node:crypto';
import { jobIds } from '@voxline/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  type Api,
  cloneBody,
  createVoice,
  settleVoice,
  startApi,
  submitJobIds,
} from './harness.js';
import { storeResult } from './stored-audio.js';

const BASE_URL = 'https://voxline.example.com';

/**
 * Reuse at accept: a line asking upstream for exactly what the tenant already has stored
 * succeeds at once from the stored audio, at no cost, and never reaches the submit queue.
 */
describe('reusing stored audio', () => {
  let api: Api;
  let tenant: { id: string; key: string };
  beforeAll(async () => {
    api = await startApi({ PUBLIC_BASE_URL: BASE_URL });
    tenant = await api.tenant();
  });
  afterAll(async () => {
    await api?.close();
  });

  const unique = (text: string) => `${text} ${randomBytes(4).toString('hex')}`;
  const line = (text: string, extra: Record<string, unknown> = {}) => ({
    system_voice: 'Wise_Woman',
    text,
    speed: 1.1,
    ...extra,
  });

  async function post(path: string, body: unknown, key = tenant.key) {
    return api.request('POST', path, { key, body });
  }

  /** A line spoken and archived: what a repeat of it may reuse. */
  async function stored(body: Record<string, unknown>, who = tenant) {
    const res = await post('/v1/clones', body, who.key);
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;
    await storeResult(api, { tenantId: who.id, cloneJobId: id });
    return id;
  }

  async function submitted(id: string) {
    return (await submitJobIds(api.queues)).includes(jobIds.submit(id, 1));
  }

  async function history(id: string) {
    const { rows } = await api.database.pool.query<{
      from_status: string | null;
      to_status: string | null;
      detail: Record<string, unknown> | null;
    }>(
      `select from_status, to_status, detail from clone_job_events
        where clone_job_id = $1 and kind = 'transition' order by id`,
      [id],
    );
    return rows;
  }

  it('a repeated single line succeeds at once from the stored audio, at no cost', async () => {
    const text = unique('Call me Ishmael.');
    const source = await stored(line(text));
    const res = await post('/v1/clones', line(text));
    expect(res.statusCode).toBe(202);
    const clone = res.json();
    expect(clone).toMatchObject({
      status: 'succeeded',
      reused_from: source,
      attempts: 0,
      cost: { estimated: 0, actual: 0, currency: 'CNY', saved: expect.any(Number) },
      audio: {
        url: `${BASE_URL}/v1/clones/${clone.id}/audio`,
        format: 'wav',
        usage: null,
      },
    });
    expect(clone.cost.saved).toBeGreaterThan(0);
    expect(await submitted(clone.id)).toBe(false);

    // The same stored file as the source's.
    const [copy, original] = await Promise.all(
      [clone.id, source].map(async (id) => {
        const { rows } = await api.database.pool.query(
          'select storage_key, sha256, bytes, archived_at from audio_results where clone_job_id = $1',
          [id],
        );
        return rows[0];
      }),
    );
    expect(copy).toEqual(original);

    // Its history reads like any line's, and its webhook event was written.
    expect(await history(clone.id)).toEqual([
      { from_status: null, to_status: 'queued', detail: null },
      {
        from_status: 'queued',
        to_status: 'succeeded',
        detail: { reason: 'reused stored audio', reused_from: source },
      },
    ]);
    const { rows: events } = await api.database.pool.query(
      `select type, payload from webhook_events where clone_job_id = $1`,
      [clone.id],
    );
    expect(events).toEqual([
      expect.objectContaining({
        type: 'clone.succeeded',
        payload: expect.objectContaining({
          data: expect.objectContaining({
            reused_from: source,
            audio: expect.objectContaining({ url: `${BASE_URL}/v1/clones/${clone.id}/audio` }),
          }),
        }),
      }),
    ]);
  });

  it('is not used with reuse_audio: false, for another request, or for another tenant', async () => {
    const text = unique('It was a dark and stormy night.');
    await stored(line(text));
    const other = await api.tenant('other');
    for (const [why, body, key] of [
      ['opted out', line(text, { reuse_audio: false }), tenant.key],
      ['another setting', line(text, { speed: 1.2 }), tenant.key],
      ['another voice', line(text, { system_voice: 'Deep_Voice_Man' }), tenant.key],
      ['another model', line(text, { model: 'speech-02-turbo' }), tenant.key],
      ["another tenant's", line(text), other.key],
    ] as const) {
      const res = await post('/v1/clones', body, key);
      expect(res.statusCode, why).toBe(202);
      expect(res.json(), why).toMatchObject({ status: 'queued', reused_from: null });
      expect(await submitted(res.json().id), why).toBe(true);
    }
  });

  it("reuses a line of the same voxline voice, never another voice's", async () => {
    const voices = await Promise.all([createVoice(api, tenant.key), createVoice(api, tenant.key)]);
    for (const voice of voices) await settleVoice(api.database, voice.id, { status: 'ready' });
    const [mine, other] = voices as [{ id: string }, { id: string }];
    const text = unique('Spoken by a cloned voice.');
    const source = await stored({ voice_id: mine.id, text });
    const same = await post('/v1/clones', { voice_id: mine.id, text });
    expect(same.json()).toMatchObject({
      status: 'succeeded',
      reused_from: source,
      voice_id: mine.id,
    });
    const another = await post('/v1/clones', { voice_id: other.id, text });
    expect(another.json()).toMatchObject({ status: 'queued', reused_from: null });
  });

  it("reuses a one-off clone line whatever its custom_voice_id, not another reference's", async () => {
    const text = unique('A clone line.');
    const source = await stored(cloneBody({ text }));
    const renamed = await post('/v1/clones', cloneBody({ text, custom_voice_id: 'renamed01' }));
    expect(renamed.json()).toMatchObject({
      status: 'succeeded',
      kind: 'voice_clone',
      reused_from: source,
      cost: { estimated: 0, actual: 0, saved: 3.12 },
    });
    const otherRef = await post(
      '/v1/clones',
      cloneBody({ text, audio: 'https://other.example.com/voice.wav' }),
    );
    expect(otherRef.json()).toMatchObject({ status: 'queued', reused_from: null });
  });

  it('never reuses a purged or unarchived result, nor a line that did not succeed', async () => {
    const purged = unique('Purged.');
    const source = await stored(line(purged));
    await api.database.pool.query(
      'update audio_results set purged_at = now() where clone_job_id = $1',
      [source],
    );
    const unarchived = unique('Only upstream has it.');
    const first = await post('/v1/clones', line(unarchived));
    await storeResult(api, { tenantId: tenant.id, cloneJobId: first.json().id, archived: false });
    const pending = unique('Still queued.');
    await post('/v1/clones', line(pending));
    for (const text of [purged, unarchived, pending]) {
      const res = await post('/v1/clones', line(text));
      expect(res.json(), text).toMatchObject({ status: 'queued', reused_from: null });
    }
  });

  it('a batch reuses line by line, each line opting out or not, and pays only the rest', async () => {
    const [a, b, c] = [unique('One.'), unique('Two.'), unique('Three.')];
    const sourceA = await stored(line(a));
    await stored(line(b));
    const res = await post('/v1/batches', {
      system_voice: 'Wise_Woman',
      speech: { speed: 1.1 },
      lines: [{ text: a }, { text: b, reuse_audio: false }, { text: c }],
    });
    expect(res.statusCode).toBe(202);
    const batch = res.json();
    expect(batch.status).toBe('running');
    expect(batch.cost).toMatchObject({ reused: 1, actual: 0 });
    const lines = (
      await api.request('GET', `/v1/batches/${batch.id}/clones`, { key: tenant.key })
    ).json().data;
    expect(lines.map((l: { status: string }) => l.status)).toEqual([
      'succeeded',
      'queued',
      'queued',
    ]);
    expect(lines[0].reused_from).toBe(sourceA);
    expect(await submitted(lines[0].id)).toBe(false);
    expect(await submitted(lines[1].id)).toBe(true);
    const view = (await api.request('GET', `/v1/batches/${batch.id}`, { key: tenant.key })).json();
    expect(view.cost).toEqual({
      ...batch.cost,
      estimated: lines[1].cost.estimated + lines[2].cost.estimated,
    });
    expect(view.cost.saved).toBe(lines[0].cost.saved);

    // The batch's own reuse_audio: false: every line calls upstream.
    const off = await post('/v1/batches', {
      system_voice: 'Wise_Woman',
      speech: { speed: 1.1 },
      reuse_audio: false,
      lines: [{ text: a }],
    });
    expect(off.json().cost).toMatchObject({ reused: 0, saved: 0, actual: null });
  });

  it('a repeated 10,000-line batch is accepted done, with no upstream submit', async () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => ({
      text: `Line ${i} of the chapter, ${randomBytes(3).toString('hex')}.`,
      ref: `l${i}`,
    }));
    const body = { system_voice: 'Wise_Woman', model: 'speech-02-turbo', lines };
    const first = await post('/v1/batches', body);
    expect(first.statusCode).toBe(202);
    // What the worker leaves behind for every line: succeeded, archived (one statement here).
    await api.database.pool.query(
      `with done as (
         update clone_jobs set status = 'succeeded', completed_at = now(), attempts = 1,
                upstream_task_id = '1', actual_cost = estimated_cost
          where batch_id = $1 returning id, tenant_id)
       insert into audio_results (clone_job_id, url, output_type, upstream_task_id, raw,
              storage_key, sha256, bytes, format, content_type, archived_at)
       select id, 'https://cdn.runninghub.example/' || id, 'wav', '1', '{}'::jsonb,
              tenant_id || '/' || id || '-1.wav', md5(id::text) || md5(id::text), 1000, 'wav',
              'audio/wav', now()
         from done`,
      [first.json().id],
    );
    const submitsBefore = (await submitJobIds(api.queues)).length;

    const started = performance.now();
    const again = await post('/v1/batches', body);
    const elapsedMs = performance.now() - started;
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({
      status: 'completed',
      total: 10_000,
      cost: { estimated: 0, actual: 0, reused: 10_000 },
    });
    expect(again.json().cost.saved).toBe(first.json().cost.estimated);
    expect((await submitJobIds(api.queues)).length).toBe(submitsBefore);
    const view = (
      await api.request('GET', `/v1/batches/${again.json().id}`, { key: tenant.key })
    ).json();
    expect(view).toMatchObject({ status: 'completed', counts: { succeeded: 10_000 } });
    const { rows } = await api.database.pool.query(
      `select type, count(*)::int as n from webhook_events where batch_id = $1
        group by type order by type`,
      [again.json().id],
    );
    expect(rows).toEqual([
      { type: 'batch.completed', n: 1 },
      { type: 'clone.succeeded', n: 10_000 },
    ]);
    const metrics = await api.request('GET', '/metrics', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(metrics.body).toMatch(
      new RegExp(
        `voxline_reused_lines_total\\{kind="speech",model="speech-02-turbo",tenant="${tenant.id}"\\} 10000`,
      ),
    );
    expect(metrics.body).toMatch(
      new RegExp(
        `voxline_reuse_saved_cny_total\\{kind="speech",model="speech-02-turbo",tenant="${tenant.id}"\\} [0-9.]+`,
      ),
    );
    // The figure the issue asks for (accepted and done, HTTP included); not asserted.
    console.log(`repeated 10,000-line batch accepted and done in ${Math.round(elapsedMs)} ms`);
  });
});
