import { getCloneJob, listCloneJobEvents, transitionCloneJob } from '@voxline/db';
import { jobIds, PRIORITY } from '@voxline/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  AUDIO_URL,
  cloneBody,
  counts,
  startApi,
  submitJobIds,
  WEBHOOK_URL,
} from './harness.js';

describe('POST /v1/clones', () => {
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

  it('accepts a clone: row, queued event and an interactive BullMQ job', async () => {
    const res = await api.request('POST', '/v1/clones', {
      key,
      body: cloneBody({ ref: 'line-1', metadata: { chapter: 3, tags: ['a'] } }),
    });
    expect(res.statusCode).toBe(202);
    const clone = res.json();
    expect(clone).toMatchObject({
      object: 'clone',
      status: 'queued',
      batch_id: null,
      ref: 'line-1',
      attempts: 0,
      run: 1,
      audio: null,
      error: null,
      metadata: { chapter: 3, tags: ['a'] },
    });
    // Defaults applied, optional fields left out: the exact upstream params.
    expect(clone.request).toEqual({
      audio: AUDIO_URL,
      custom_voice_id: 'narrator01',
      text: 'It was a bright cold day in April.',
      need_noise_reduction: false,
      need_volume_normalization: false,
      model: 'speech-02-hd',
    });

    const row = await getCloneJob(api.database.db, { tenantId, id: clone.id });
    expect(row).toMatchObject({ tenantId, status: 'queued', priority: PRIORITY.interactive });
    const events = await listCloneJobEvents(api.database.db, { tenantId, cloneJobId: clone.id });
    expect(events.map((e) => [e.fromStatus, e.toStatus])).toEqual([[null, 'queued']]);
    const job = await api.queues.cloneSubmit.getJob(jobIds.submit(clone.id, 1));
    expect(job?.data).toEqual({ cloneJobId: clone.id, tenantId, run: 1 });
    expect(job?.opts.priority).toBe(1);

    const got = await api.request('GET', `/v1/clones/${clone.id}`, { key });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(clone);
  });

  it('keeps optional fields that were given', async () => {
    const res = await api.request('POST', '/v1/clones', {
      key,
      body: cloneBody({
        accuracy: 0.9,
        need_noise_reduction: true,
        model: 'speech-2.8-turbo',
        language_boost: 'Chinese,Yue',
        webhook_url: WEBHOOK_URL,
      }),
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().request).toMatchObject({
      accuracy: 0.9,
      need_noise_reduction: true,
      need_volume_normalization: false,
      model: 'speech-2.8-turbo',
      language_boost: 'Chinese,Yue',
    });
    const row = await getCloneJob(api.database.db, { tenantId, id: res.json().id });
    expect(row?.webhookUrl).toBe(WEBHOOK_URL);
  });

  describe('refuses bad input, naming the field, and writes nothing', () => {
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['voice id too short', { custom_voice_id: 'ab1' }, 'custom_voice_id', /at least 8/],
      ['voice id without a digit', { custom_voice_id: 'narrator' }, 'custom_voice_id', /digit/],
      ['voice id ending in _', { custom_voice_id: 'narrator1_' }, 'custom_voice_id', /end/],
      [
        'voice id starting with a digit',
        { custom_voice_id: '1narrator' },
        'custom_voice_id',
        /letter/,
      ],
      ['unknown model', { model: 'speech-99' }, 'model', /must be one of/],
      ['accuracy above 1', { accuracy: 1.5 }, 'accuracy', /between 0 and 1/],
      ['accuracy as a string', { accuracy: '0.5' }, 'accuracy', /number/],
      ['boolean as a string', { need_noise_reduction: 'true' }, 'need_noise_reduction', /boolean/],
      ['missing text', { text: undefined }, 'text', /required/],
      ['blank text', { text: '   ' }, 'text', /empty/],
      ['text over the limit', { text: 'x'.repeat(10_001) }, 'text', /at most 10000/],
      ['unknown language', { language_boost: 'Klingon' }, 'language_boost', /must be one of/],
      ['non-http audio', { audio: 'ftp://cdn.example.com/a.wav' }, 'audio', /http/],
      ['private audio URL', { audio: 'http://127.0.0.1/a.wav' }, 'audio', /private/],
      ['link-local audio URL', { audio: 'http://169.254.169.254/latest' }, 'audio', /private/],
      ['private webhook', { webhook_url: 'http://10.1.2.3/hook' }, 'webhook_url', /private/],
      ['metadata not an object', { metadata: [1, 2] }, 'metadata', /object/],
      ['metadata too large', { metadata: { blob: 'x'.repeat(20_000) } }, 'metadata', /at most/],
      ['unknown field', { speeed: 2 }, 'speeed', /unknown field/],
      ['a speech setting on a clone line', { speed: 2 }, 'speed', /speech setting/],
      ['clone fields with a voice', { system_voice: 'Wise_Woman' }, 'audio', /clone field/],
      // Postgres cannot store these: a 400 here, not a 500 from the database.
      ['NUL in text', { text: 'a\u0000b' }, 'text', /NUL/],
      ['unpaired surrogate in text', { text: 'a\ud800b' }, 'text', /surrogate/],
      [
        'NUL deep in metadata',
        { metadata: { notes: ['ok', 'x\u0000'] } },
        'metadata.notes.1',
        /NUL/,
      ],
      [
        'NUL in a URL path',
        { webhook_url: 'https://hooks.example.com/a\u0000b' },
        'webhook_url',
        /./,
      ],
    ];
    it.each(cases)('%s', async (_name, overrides, path, message) => {
      const before = await counts(api.database);
      const queued = await submitJobIds(api.queues);
      const body = cloneBody(overrides);
      for (const [k, v] of Object.entries(overrides))
        if (v === undefined) delete (body as Record<string, unknown>)[k];
      const res = await api.request('POST', '/v1/clones', { key, body });
      expect(res.statusCode).toBe(400);
      const { error } = res.json();
      expect(error.code).toBe('validation_error');
      const problem = error.details.find((d: { path: string }) => d.path === path);
      expect(problem, JSON.stringify(error.details)).toBeDefined();
      expect(problem.message).toMatch(message);
      expect(await counts(api.database)).toEqual(before);
      expect(await submitJobIds(api.queues)).toEqual(queued);
    });
  });

  it('reports every bad field at once', async () => {
    const res = await api.request('POST', '/v1/clones', {
      key,
      body: { audio: 'nope', custom_voice_id: 5, model: 'x' },
    });
    expect(res.statusCode).toBe(400);
    const paths = res.json().error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['audio', 'custom_voice_id', 'text', 'model']));
  });

  it('answers JSON errors for bodies that are not JSON, too large, or not objects', async () => {
    const invalid = await api.request('POST', '/v1/clones', { key, body: '{"audio": ' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('invalid_json');

    const poisoned = await api.request('POST', '/v1/clones', {
      key,
      body: '{"__proto__": {"admin": true}}',
    });
    expect(poisoned.statusCode).toBe(400);

    const notObject = await api.request('POST', '/v1/clones', { key, body: '[1,2,3]' });
    expect(notObject.statusCode).toBe(400);
    expect(notObject.json().error.code).toBe('validation_error');

    const empty = await api.request('POST', '/v1/clones', { key, body: '' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.code).toBe('validation_error');

    const text = await api.request('POST', '/v1/clones', {
      key,
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.statusCode).toBe(400);
    const xml = await api.request('POST', '/v1/clones', {
      key,
      body: '<a/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe('unsupported_media_type');
  });

  describe('Idempotency-Key', () => {
    it('returns the original for the same body and 409 for another', async () => {
      const headers = { 'idempotency-key': 'order-42' };
      const first = await api.request('POST', '/v1/clones', { key, body: cloneBody(), headers });
      expect(first.statusCode).toBe(202);
      // Same meaning, other key order and an explicit default: the same request.
      const again = await api.request('POST', '/v1/clones', {
        key,
        headers,
        body: (({ audio, custom_voice_id, text }) => ({
          model: 'speech-02-hd',
          text,
          custom_voice_id,
          audio,
        }))(cloneBody()),
      });
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      const other = await api.request('POST', '/v1/clones', {
        key,
        headers,
        body: cloneBody({ text: 'Something else.' }),
      });
      expect(other.statusCode).toBe(409);
      expect(other.json().error.code).toBe('idempotency_conflict');
      const ids = await submitJobIds(api.queues);
      expect(ids.filter((id) => id === jobIds.submit(first.json().id, 1))).toHaveLength(1);
    });

    it('keeps tenants apart: the same key in two tenants makes two clones', async () => {
      const other = await api.tenant('other');
      const headers = { 'idempotency-key': 'shared-key' };
      const a = await api.request('POST', '/v1/clones', { key, body: cloneBody(), headers });
      const b = await api.request('POST', '/v1/clones', {
        key: other.key,
        body: cloneBody({ text: 'Different.' }),
        headers,
      });
      expect(a.statusCode).toBe(202);
      expect(b.statusCode).toBe(202);
      expect(a.json().id).not.toBe(b.json().id);
    });

    it('creates one clone when identical requests race', async () => {
      const headers = { 'idempotency-key': 'race-1' };
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          api.request('POST', '/v1/clones', { key, body: cloneBody({ ref: 'race' }), headers }),
        ),
      );
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(7);
      expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
      const { rows } = await api.database.pool.query(
        `select count(*)::int as n from clone_jobs where idempotency_key = 'race-1'`,
      );
      expect(rows[0].n).toBe(1);
    });

    it('refuses a malformed key', async () => {
      const res = await api.request('POST', '/v1/clones', {
        key,
        body: cloneBody(),
        headers: { 'idempotency-key': 'x'.repeat(300) },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details[0].path).toBe('idempotency-key');
    });
  });

  describe('tenant isolation and auth', () => {
    it('needs a valid key', async () => {
      for (const authorization of [
        undefined,
        'Bearer nope',
        `Bearer vxl_${'a'.repeat(43)}`,
        `Basic ${key}`,
      ]) {
        const res = await api.request('POST', '/v1/clones', {
          body: cloneBody(),
          ...(authorization ? { headers: { authorization } } : {}),
        });
        expect(res.statusCode).toBe(401);
        expect(res.json().error.code).toBe('unauthorized');
      }
    });

    it("answers 404 for another tenant's clone, and for ids that are not ids", async () => {
      const mine = await api.request('POST', '/v1/clones', { key, body: cloneBody() });
      const other = await api.tenant('intruder');
      for (const url of [
        `/v1/clones/${mine.json().id}`,
        '/v1/clones/not-a-uuid',
        '/v1/clones/01970000-0000-7000-8000-000000000000',
      ]) {
        const res = await api.request('GET', url, { key: other.key });
        expect(res.statusCode).toBe(404);
        expect(res.json().error.code).toBe('not_found');
      }
      const cancel = await api.request('POST', `/v1/clones/${mine.json().id}/cancel`, {
        key: other.key,
      });
      expect(cancel.statusCode).toBe(404);
      const still = await getCloneJob(api.database.db, { tenantId, id: mine.json().id });
      expect(still?.status).toBe('queued');
    });
  });

  describe('cancel', () => {
    it('cancels a queued clone with its event and webhook outbox rows; twice is 409', async () => {
      const created = await api.request('POST', '/v1/clones', {
        key,
        body: cloneBody({ webhook_url: WEBHOOK_URL }),
      });
      const id = created.json().id;
      const res = await api.request('POST', `/v1/clones/${id}/cancel`, { key });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id, status: 'canceled' });
      expect(res.json().completed_at).not.toBeNull();

      const events = await listCloneJobEvents(api.database.db, { tenantId, cloneJobId: id });
      expect(events.map((e) => e.toStatus)).toEqual(['queued', 'canceled']);
      const { rows } = await api.database.pool.query(
        `select e.type, d.url, d.id as delivery_id from webhook_events e
           join webhook_deliveries d on d.event_id = e.id where e.clone_job_id = $1`,
        [id],
      );
      expect(rows).toEqual([
        { type: 'clone.canceled', url: WEBHOOK_URL, delivery_id: expect.any(String) },
      ]);
      expect(await api.queues.webhookDelivery.getJob(rows[0].delivery_id)).toBeDefined();

      const again = await api.request('POST', `/v1/clones/${id}/cancel`, {
        key,
        headers: { 'content-type': 'application/json' },
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().error).toMatchObject({
        code: 'not_cancelable',
        details: { status: 'canceled' },
      });
    });

    it('cancels a clone already running upstream (its result will be dropped)', async () => {
      const created = await api.request('POST', '/v1/clones', { key, body: cloneBody() });
      const id = created.json().id;
      const db = api.database.db;
      await transitionCloneJob(db, { tenantId, id, from: ['queued'], to: 'submitting' });
      await transitionCloneJob(db, {
        tenantId,
        id,
        from: ['submitting'],
        to: 'running',
        set: { upstreamTaskId: '2013508786110730241' },
      });
      const res = await api.request('POST', `/v1/clones/${id}/cancel`, { key });
      expect(res.statusCode).toBe(200);
      expect(res.json().status).toBe('canceled');
      // A worker finishing the task later cannot overwrite the cancel.
      expect(
        await transitionCloneJob(db, { tenantId, id, from: ['running'], to: 'succeeded' }),
      ).toBeNull();
    });

    it('refuses to cancel a finished clone', async () => {
      const created = await api.request('POST', '/v1/clones', { key, body: cloneBody() });
      const id = created.json().id;
      await transitionCloneJob(api.database.db, {
        tenantId,
        id,
        from: ['queued'],
        to: 'failed',
        set: { errorCode: '2039', errorMessage: 'duplicate voice id' },
      });
      const res = await api.request('POST', `/v1/clones/${id}/cancel`, { key });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('not_cancelable');
      const got = await api.request('GET', `/v1/clones/${id}`, { key });
      expect(got.json().error).toEqual({ code: '2039', message: 'duplicate voice id' });
    });
  });
});
