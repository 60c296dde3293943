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

describe('speech lines', () => {
  let api: Api;
  let key: string;
  let voiceId: string;
  beforeAll(async () => {
    api = await startApi();
    ({ key } = await api.tenant());
    voiceId = (await createVoice(api, key)).id;
    await settleVoice(api.database, voiceId, { status: 'ready' });
  });
  afterAll(async () => {
    await api?.close();
  });

  function post(url: string, body: unknown) {
    return api.request('POST', url, { key, body });
  }

  describe('POST /v1/clones', () => {
    it('speaks a line with a voice of the tenant: kind speech, its request and cost', async () => {
      const res = await post('/v1/clones', {
        voice_id: voiceId,
        text: 'It was a bright cold day in April.',
        model: 'speech-2.6-hd',
        speed: 1.2,
        pitch: -2,
        emotion: 'sad',
        pronunciation_dict: ['April/Ay-pril'],
        english_normalization: true,
        ref: 'ch1-1',
      });
      expect(res.statusCode).toBe(202);
      const clone = res.json();
      expect(clone).toMatchObject({
        kind: 'speech',
        voice_id: voiceId,
        status: 'queued',
        ref: 'ch1-1',
        request: {
          model: 'speech-2.6-hd',
          text: 'It was a bright cold day in April.',
          speed: 1.2,
          pitch: -2,
          emotion: 'sad',
          pronunciation_dict: ['April/Ay-pril'],
          english_normalization: true,
        },
        // 34 characters at 0.62 per 1,000.
        cost: { estimated: 0.02108, actual: null, currency: 'CNY' },
      });
      const bull = await api.queues.cloneSubmit.getJob(jobIds.submit(clone.id, 1));
      expect(bull?.opts.priority).toBe(PRIORITY.interactive);
    });

    it('speaks with a system voice, speech-02-hd by default', async () => {
      const res = await post('/v1/clones', { system_voice: 'Wise_Woman', text: 'Hello.' });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({
        kind: 'speech',
        voice_id: null,
        request: { model: 'speech-02-hd', text: 'Hello.', system_voice: 'Wise_Woman' },
        cost: { estimated: 0.00186 },
      });
    });

    it('keeps the clone fields a voice clone, with its price', async () => {
      const res = await post('/v1/clones', {
        audio: AUDIO_URL,
        custom_voice_id: 'narrator01',
        text: 'One clone.',
      });
      expect(res.json()).toMatchObject({
        kind: 'voice_clone',
        voice_id: null,
        cost: { estimated: 3.12 },
      });
    });

    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['speed out of range', { speed: 3 }, 'speed', /between 0.5 and 2/],
      ['volume out of range', { volume: 0 }, 'volume', /between 0.1 and 10/],
      ['pitch not an integer', { pitch: 1.5 }, 'pitch', /integer/],
      ['unknown emotion', { emotion: 'bored' }, 'emotion', /must be one of/],
      [
        'a bad pronunciation entry',
        { pronunciation_dict: ['nope'] },
        'pronunciation_dict.0',
        /like/,
      ],
      [
        'too many pronunciation entries',
        { pronunciation_dict: Array.from({ length: 21 }, (_, i) => `w${i}/x`) },
        'pronunciation_dict',
        /at most 20/,
      ],
      [
        'english_normalization a string',
        { english_normalization: 'yes' },
        'english_normalization',
        /boolean/,
      ],
      [
        'a clone-only model',
        { model: 'speech-2.5-hd-preview' },
        'model',
        /when speaking with a voice/,
      ],
      ['an unknown model', { model: 'speech-99' }, 'model', /must be one of/],
      ['voice_id not a uuid', { voice_id: 'narrator' }, 'voice_id', /uuid/],
      ['both voices', { system_voice: 'Wise_Woman' }, 'system_voice', /not both/],
      [
        'an unknown system voice',
        { voice_id: undefined, system_voice: 'Bob' },
        'system_voice',
        /one of/,
      ],
      [
        'a clone field with a voice',
        { audio: AUDIO_URL },
        'audio',
        /cannot be combined with voice_id/,
      ],
      ['accuracy with a voice', { accuracy: 0.5 }, 'accuracy', /clone field/],
      ['missing text', { text: undefined }, 'text', /required/],
    ];
    it.each(cases)(
      'refuses %s, naming the field, writing nothing',
      async (_n, overrides, path, message) => {
        const before = await counts(api.database);
        const queued = await submitJobIds(api.queues);
        const body: Record<string, unknown> = { voice_id: voiceId, text: 'Hello.', ...overrides };
        for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete body[k];
        const res = await post('/v1/clones', body);
        expect(res.statusCode).toBe(400);
        const problem = res.json().error.details.find((d: { path: string }) => d.path === path);
        expect(problem, JSON.stringify(res.json().error.details)).toBeDefined();
        expect(problem.message).toMatch(message);
        expect(await counts(api.database)).toEqual(before);
        expect(await submitJobIds(api.queues)).toEqual(queued);
      },
    );

    it('answers 404 for an unknown or deleted voice and 422 for a failed one, writing nothing', async () => {
      const deleted = await createVoice(api, key);
      await settleVoice(api.database, deleted.id, { status: 'ready' });
      expect((await api.request('DELETE', `/v1/voices/${deleted.id}`, { key })).statusCode).toBe(
        204,
      );
      const failed = await createVoice(api, key);
      await settleVoice(api.database, failed.id, { status: 'failed', code: '2037' });
      const before = await counts(api.database);

      for (const id of ['019abcde-0000-7000-8000-000000000000', deleted.id]) {
        const res = await post('/v1/clones', { voice_id: id, text: 'Hello.' });
        expect(res.statusCode).toBe(404);
        expect(res.json().error).toMatchObject({
          code: 'voice_not_found',
          details: [{ path: 'voice_id', message: 'no such voice' }],
        });
      }
      const res = await post('/v1/clones', { voice_id: failed.id, text: 'Hello.' });
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatchObject({
        code: 'voice_failed',
        details: [{ path: 'voice_id', voice_id: failed.id, error: { code: '2037' } }],
      });
      expect(await counts(api.database)).toEqual(before);
    });

    it('speaks with a voice that is still cloning (the line waits for it)', async () => {
      const cloning = await createVoice(api, key);
      const res = await post('/v1/clones', { voice_id: cloning.id, text: 'Soon.' });
      expect(res.statusCode).toBe(202);
      expect(res.json().voice_id).toBe(cloning.id);
    });
  });

  describe('POST /v1/batches', () => {
    it('speaks every line with the batch voice, lines overriding voice, model and settings', async () => {
      const res = await post('/v1/batches', {
        voice_id: voiceId,
        model: 'speech-02-turbo',
        speech: { speed: 1.1, emotion: 'happy' },
        lines: [
          { text: 'First.' },
          { text: 'Second.', model: 'speech-2.8-hd', speech: { emotion: 'sad', pitch: 2 } },
          { text: 'Third.', system_voice: 'Calm_Woman' },
        ],
      });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ voice_id: voiceId, total: 3 });
      const { rows } = await api.database.pool.query(
        `select kind, voice_id, request, estimated_cost::float as cost, priority from clone_jobs
          where batch_id = $1 order by line_index`,
        [res.json().id],
      );
      expect(rows).toEqual([
        {
          kind: 'speech',
          voice_id: voiceId,
          request: { model: 'speech-02-turbo', text: 'First.', speed: 1.1, emotion: 'happy' },
          cost: 0.00114,
          priority: PRIORITY.batch,
        },
        {
          kind: 'speech',
          voice_id: voiceId,
          request: {
            model: 'speech-2.8-hd',
            text: 'Second.',
            speed: 1.1,
            emotion: 'sad',
            pitch: 2,
          },
          cost: 0.00434,
          priority: PRIORITY.batch,
        },
        {
          kind: 'speech',
          voice_id: null,
          request: {
            model: 'speech-02-turbo',
            text: 'Third.',
            speed: 1.1,
            emotion: 'happy',
            system_voice: 'Calm_Woman',
          },
          cost: 0.00114,
          priority: PRIORITY.batch,
        },
      ]);
      const got = await api.request('GET', `/v1/batches/${res.json().id}`, { key });
      expect(got.json()).toMatchObject({
        voice_id: voiceId,
        cost: { estimated: 0.00662, actual: null, currency: 'CNY' },
      });
    });

    it('takes a voice per line with no batch voice', async () => {
      const res = await post('/v1/batches', {
        lines: [
          { text: 'A.', voice_id: voiceId },
          { text: 'B.', system_voice: 'Abbess' },
        ],
      });
      expect(res.statusCode).toBe(202);
      expect(res.json().voice_id).toBeNull();
    });

    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['a line with no voice', { voice_id: undefined }, 'lines.1', /has no voice/],
      [
        'a clone override without per_line_clone',
        { lines: [{ text: 'a', audio: AUDIO_URL }] },
        'lines.0.audio',
        /only with per_line_clone/,
      ],
      [
        'two batch voices',
        { system_voice: 'Abbess' },
        'system_voice',
        /not voice_id and system_voice/,
      ],
      ['a bad batch setting', { speech: { speed: 9 } }, 'speech.speed', /between/],
      ['an unknown batch setting', { speech: { tempo: 1 } }, 'speech.tempo', /unknown field/],
      [
        'a flat setting on a line',
        { lines: [{ text: 'a', speed: 1 }] },
        'lines.0.speed',
        /unknown field/,
      ],
      ['a clone-only batch model', { model: 'speech-2.5-hd-preview' }, 'model', /one of/],
      [
        'a clone-only line model',
        { lines: [{ text: 'a', model: 'speech-2.5-turbo-preview' }] },
        'lines.0.model',
        /speaking with a voice/,
      ],
      [
        'a line with both voices',
        {
          lines: [
            { text: 'a', voice_id: '019abcde-0000-7000-8000-000000000002', system_voice: 'Abbess' },
          ],
        },
        'lines.0.system_voice',
        /not both/,
      ],
      ['a negative max_cost', { max_cost: -1 }, 'max_cost', /at least 0/],
      [
        'speech with per_line_clone',
        {
          per_line_clone: true,
          voice_id: undefined,
          voice: { audio: AUDIO_URL, custom_voice_id: 'narrator01' },
          speech: { speed: 1 },
        },
        'speech',
        /per_line_clone/,
      ],
      [
        'per_line_clone without custom_voice_id',
        { per_line_clone: true, voice_id: undefined, voice: { audio: AUDIO_URL } },
        'voice.custom_voice_id',
        /required/,
      ],
      ['per_line_clone without a voice', { per_line_clone: true }, 'voice', /required/],
    ];
    it.each(cases)(
      'refuses %s, naming the field, writing nothing',
      async (_n, overrides, path, message) => {
        const before = await counts(api.database);
        const queued = await submitJobIds(api.queues);
        const body: Record<string, unknown> = {
          voice_id: voiceId,
          lines: [{ text: 'a' }, { text: 'b' }],
          ...overrides,
        };
        for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete body[k];
        const res = await post('/v1/batches', body);
        expect(res.statusCode).toBe(400);
        const problem = res.json().error.details.find((d: { path: string }) => d.path === path);
        expect(problem, JSON.stringify(res.json().error.details)).toBeDefined();
        expect(problem.message).toMatch(message);
        expect(await counts(api.database)).toEqual(before);
        expect(await submitJobIds(api.queues)).toEqual(queued);
      },
    );

    it('answers 404 naming the line of an unknown voice, and 422 for a failed one', async () => {
      const failed = await createVoice(api, key);
      await settleVoice(api.database, failed.id, { status: 'failed', code: '1043' });
      const before = await counts(api.database);
      const unknown = await post('/v1/batches', {
        voice_id: voiceId,
        lines: [{ text: 'a' }, { text: 'b', voice_id: '019abcde-0000-7000-8000-000000000001' }],
      });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toMatchObject({
        code: 'voice_not_found',
        details: [{ path: 'lines.1.voice_id' }],
      });
      const bad = await post('/v1/batches', { voice_id: failed.id, lines: [{ text: 'a' }] });
      expect(bad.statusCode).toBe(422);
      expect(bad.json().error).toMatchObject({
        code: 'voice_failed',
        details: [{ path: 'voice_id' }],
      });
      expect(await counts(api.database)).toEqual(before);
    });
  });
});
