import { insertAudioResult } from '@voxline/db';
import { jobIds, PRIORITY } from '@voxline/queue';
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

describe('/v1/voices', () => {
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

  it('creates a voice in cloning with one clone task, enqueued at interactive priority', async () => {
    const res = await api.request('POST', '/v1/voices', {
      key,
      body: {
        audio: AUDIO_URL,
        name: 'Narrator',
        accuracy: 0.8,
        language_boost: 'English',
        preview_text: 'Hello from the narrator.',
        keep_alive: true,
        metadata: { team: 'audio' },
      },
    });
    expect(res.statusCode).toBe(202);
    const voice = res.json();
    expect(voice).toMatchObject({
      object: 'voice',
      name: 'Narrator',
      status: 'cloning',
      upstream_voice_id: null,
      reference: { kind: 'url', url: AUDIO_URL },
      settings: {
        model: 'speech-02-hd',
        accuracy: 0.8,
        need_noise_reduction: false,
        need_volume_normalization: false,
        language_boost: 'English',
      },
      preview_text: 'Hello from the narrator.',
      preview: null,
      cost: { estimated: 3.12, actual: null, currency: 'CNY' },
      clones: 1,
      keep_alive: true,
      error: null,
      metadata: { team: 'audio' },
      ready_at: null,
      last_used_at: null,
      expires_at: null,
    });

    const { rows } = await api.database.pool.query(
      `select j.id, j.kind, j.voice_id, j.batch_id, j.priority, j.request, j.estimated_cost, j.tenant_id
         from voices v join clone_jobs j on j.id = v.clone_job_id where v.id = $1`,
      [voice.id],
    );
    expect(rows).toHaveLength(1);
    const task = rows[0];
    expect(task).toMatchObject({
      kind: 'voice_clone',
      voice_id: voice.id,
      batch_id: null,
      priority: PRIORITY.interactive,
      estimated_cost: '3.120000',
      tenant_id: tenantId,
    });
    // voxline's own upstream id base: "vx" and the voice id's hex digits.
    expect(task.request).toEqual({
      audio: AUDIO_URL,
      custom_voice_id: `vx${voice.id.replaceAll('-', '')}`,
      text: 'Hello from the narrator.',
      accuracy: 0.8,
      need_noise_reduction: false,
      need_volume_normalization: false,
      model: 'speech-02-hd',
      language_boost: 'English',
    });
    const bull = await api.queues.cloneSubmit.getJob(jobIds.submit(task.id, 1));
    expect(bull?.opts.priority).toBe(PRIORITY.interactive);

    const got = await api.request('GET', `/v1/voices/${voice.id}`, { key });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(voice);
    // The clone task is a clone of the tenant's like any other.
    const clone = await api.request('GET', `/v1/clones/${task.id}`, { key });
    expect(clone.json()).toMatchObject({ kind: 'voice_clone', voice_id: voice.id });
  });

  it('shows a ready voice with its upstream id, preview and actual cost', async () => {
    const voice = await createVoice(api, key);
    const { rows } = await api.database.pool.query(
      'select clone_job_id from voices where id = $1',
      [voice.id],
    );
    const cloneJobId = rows[0].clone_job_id;
    await api.database.pool.query(
      `update clone_jobs set status = 'succeeded', actual_cost = 3.1 where id = $1`,
      [cloneJobId],
    );
    await insertAudioResult(api.database.db, {
      tenantId,
      cloneJobId,
      url: 'https://cdn.example.com/preview.wav',
      outputType: 'wav',
      upstreamTaskId: '2013508786110730241',
      raw: {},
    });
    await settleVoice(api.database, voice.id, { status: 'ready', upstreamVoiceId: 'vxabc-1' });
    const got = await api.request('GET', `/v1/voices/${voice.id}`, { key });
    expect(got.json()).toMatchObject({
      status: 'ready',
      upstream_voice_id: 'vxabc-1',
      preview: { url: 'https://cdn.example.com/preview.wav', type: 'wav' },
      cost: { estimated: 3.12, actual: 3.1, currency: 'CNY' },
      ready_at: expect.any(String),
      expires_at: expect.any(String),
    });
    // The listing reads cost and preview for a whole page at once: the same view.
    const listed = await api.request('GET', '/v1/voices', { key });
    expect(listed.json().data.find((v: { id: string }) => v.id === voice.id)).toEqual(got.json());
  });

  it('replays an Idempotency-Key with 200 and refuses it with another body', async () => {
    const headers = { 'idempotency-key': 'voice-1' };
    const body = { audio: AUDIO_URL, name: 'Replayed' };
    const first = await api.request('POST', '/v1/voices', { key, body, headers });
    expect(first.statusCode).toBe(202);
    const before = await counts(api.database);
    // Same meaning: an explicit default is the same request.
    const again = await api.request('POST', '/v1/voices', {
      key,
      body: { ...body, need_noise_reduction: false },
      headers,
    });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const other = await api.request('POST', '/v1/voices', {
      key,
      body: { ...body, name: 'Other' },
      headers,
    });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('idempotency_conflict');
    expect(await counts(api.database)).toEqual(before);

    const racing = await Promise.all(
      Array.from({ length: 4 }, () =>
        api.request('POST', '/v1/voices', { key, body, headers: { 'idempotency-key': 'race' } }),
      ),
    );
    expect(racing.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 202]);
    expect(new Set(racing.map((r) => r.json().id)).size).toBe(1);
  });

  describe('refuses bad input, naming the field, and writes nothing', () => {
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['no audio', { audio: undefined }, 'audio', /required/],
      ['non-http audio', { audio: 'ftp://cdn.example.com/a.wav' }, 'audio', /http/],
      ['private audio', { audio: 'http://10.0.0.8/a.wav' }, 'audio', /private/],
      ['unknown model', { model: 'speech-99' }, 'model', /must be one of/],
      ['accuracy above 1', { accuracy: 3 }, 'accuracy', /between 0 and 1/],
      ['keep_alive as a string', { keep_alive: 'yes' }, 'keep_alive', /boolean/],
      ['blank preview', { preview_text: ' ' }, 'preview_text', /empty/],
      ['empty name', { name: '' }, 'name', /empty/],
      ['a clone-line field', { custom_voice_id: 'narrator01' }, 'custom_voice_id', /unknown/],
      ['NUL in the name', { name: 'a\u0000' }, 'name', /NUL/],
    ];
    it.each(cases)('%s', async (_name, overrides, path, message) => {
      const before = await counts(api.database);
      const queued = await submitJobIds(api.queues);
      const body: Record<string, unknown> = { audio: AUDIO_URL, ...overrides };
      for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete body[k];
      const res = await api.request('POST', '/v1/voices', { key, body });
      expect(res.statusCode).toBe(400);
      const problem = res.json().error.details.find((d: { path: string }) => d.path === path);
      expect(problem, JSON.stringify(res.json().error)).toBeDefined();
      expect(problem.message).toMatch(message);
      expect(await counts(api.database)).toEqual(before);
      expect(await submitJobIds(api.queues)).toEqual(queued);
    });
  });

  it('lists voices newest first, page by page, without deleted ones', async () => {
    const { key: k } = await api.tenant('lister');
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await createVoice(api, k, { name: `v${i}` })).id);
    const deleted = made[2] as string;
    expect((await api.request('DELETE', `/v1/voices/${deleted}`, { key: k })).statusCode).toBe(204);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = await api.request('GET', `/v1/voices?limit=2${query}`, { key: k });
      expect(page.statusCode).toBe(200);
      const body = page.json();
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((v: { id: string }) => v.id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(made.filter((id) => id !== deleted).reverse());

    const bad = await api.request('GET', '/v1/voices?cursor=abc', { key: k });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details).toEqual([
      { path: 'cursor', message: 'is not a cursor of this listing' },
    ]);
    const unknown = await api.request('GET', '/v1/voices?status=ready', { key: k });
    expect(unknown.statusCode).toBe(400);
  });

  it('patches name, keep_alive and metadata; null clears', async () => {
    const voice = await createVoice(api, key, { name: 'Before', metadata: { a: 1 } });
    const res = await api.request('PATCH', `/v1/voices/${voice.id}`, {
      key,
      body: { name: 'After', keep_alive: true },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'After', keep_alive: true, metadata: { a: 1 } });
    const cleared = await api.request('PATCH', `/v1/voices/${voice.id}`, {
      key,
      body: { name: null, metadata: null },
    });
    expect(cleared.json()).toMatchObject({ name: null, keep_alive: true, metadata: null });

    const empty = await api.request('PATCH', `/v1/voices/${voice.id}`, { key, body: {} });
    expect(empty.statusCode).toBe(400);
    const unknown = await api.request('PATCH', `/v1/voices/${voice.id}`, {
      key,
      body: { audio: AUDIO_URL },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details).toContainEqual({
      path: 'audio',
      message: 'unknown field',
    });
  });

  it('deletes a voice unless lines of it are active; gone after', async () => {
    const voice = await createVoice(api, key);
    await settleVoice(api.database, voice.id, { status: 'ready' });
    const line = await api.request('POST', '/v1/clones', {
      key,
      body: { voice_id: voice.id, text: 'Still to be spoken.' },
    });
    expect(line.statusCode).toBe(202);

    const refused = await api.request('DELETE', `/v1/voices/${voice.id}`, { key });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'voice_in_use',
      details: { active_lines: 1 },
    });

    const cancel = await api.request('POST', `/v1/clones/${line.json().id}/cancel`, { key });
    expect(cancel.statusCode).toBe(200);
    const deleted = await api.request('DELETE', `/v1/voices/${voice.id}`, { key });
    expect(deleted.statusCode).toBe(204);
    expect((await api.request('GET', `/v1/voices/${voice.id}`, { key })).statusCode).toBe(404);
    expect((await api.request('DELETE', `/v1/voices/${voice.id}`, { key })).statusCode).toBe(404);
    const patch = await api.request('PATCH', `/v1/voices/${voice.id}`, {
      key,
      body: { name: 'x' },
    });
    expect(patch.statusCode).toBe(404);
    // The row stays, soft-deleted, with its history.
    const { rows } = await api.database.pool.query(
      `select v.deleted_at, (select count(*)::int from voice_events e where e.voice_id = v.id
          and e.kind = 'deleted') as events from voices v where v.id = $1`,
      [voice.id],
    );
    expect(rows[0].deleted_at).not.toBeNull();
    expect(rows[0].events).toBe(1);
  });

  it("keeps tenants apart: another tenant's voice is a 404 on every route", async () => {
    const voice = await createVoice(api, key, { name: 'Mine' });
    await settleVoice(api.database, voice.id, { status: 'ready' });
    const { key: other } = await api.tenant('other');
    const before = await counts(api.database);

    expect((await api.request('GET', `/v1/voices/${voice.id}`, { key: other })).statusCode).toBe(
      404,
    );
    const patch = await api.request('PATCH', `/v1/voices/${voice.id}`, {
      key: other,
      body: { name: 'Stolen' },
    });
    expect(patch.statusCode).toBe(404);
    const del = await api.request('DELETE', `/v1/voices/${voice.id}`, { key: other });
    expect(del.statusCode).toBe(404);
    const list = await api.request('GET', '/v1/voices', { key: other });
    expect(list.json().data).toEqual([]);
    const speech = await api.request('POST', '/v1/clones', {
      key: other,
      body: { voice_id: voice.id, text: 'Not my voice.' },
    });
    expect(speech.statusCode).toBe(404);
    expect(speech.json().error).toMatchObject({
      code: 'voice_not_found',
      details: [{ path: 'voice_id', message: 'no such voice' }],
    });
    const batch = await api.request('POST', '/v1/batches', {
      key: other,
      body: { voice_id: voice.id, lines: [{ text: 'a' }] },
    });
    expect(batch.statusCode).toBe(404);
    expect(batch.json().error.code).toBe('voice_not_found');
    expect(await counts(api.database)).toEqual(before);

    // Malformed ids are just ids that do not exist.
    expect((await api.request('GET', '/v1/voices/nope', { key })).statusCode).toBe(404);
    // Still there for its owner.
    const mine = await api.request('GET', `/v1/voices/${voice.id}`, { key });
    expect(mine.json().name).toBe('Mine');
  });

  it('needs a tenant key', async () => {
    expect((await api.request('GET', '/v1/voices')).statusCode).toBe(401);
    const post = await api.request('POST', '/v1/voices', { body: { audio: AUDIO_URL } });
    expect(post.statusCode).toBe(401);
  });
});
