import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, AUDIO_URL, counts, startApi, submitJobIds } from './harness.js';

/** A short, valid WAV file: RIFF header, fmt chunk, and a second of silence at 8 kHz. */
function wav(): Buffer {
  const data = Buffer.alloc(8_000);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8_000, 24);
  header.writeUInt32LE(8_000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

interface FilePart {
  field?: string;
  name?: string;
  type?: string;
  bytes: Buffer;
}

/** A multipart/form-data body, as a browser or curl -F sends it. */
function form(fields: Record<string, string>, files: FilePart[]) {
  const boundary = '----voxline-test-boundary';
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      ),
    );
  }
  for (const file of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="${file.field ?? 'file'}"; ` +
          `filename="${file.name ?? 'narrator.wav'}"\r\ncontent-type: ${file.type ?? 'audio/wav'}\r\n\r\n`,
      ),
      file.bytes,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

describe('POST /v1/voices as multipart/form-data', () => {
  let api: Api;
  let key: string;
  beforeAll(async () => {
    api = await startApi();
    ({ key } = await api.tenant());
  });
  afterAll(async () => {
    await api?.close();
  });

  function upload(
    fields: Record<string, string>,
    files: FilePart[],
    headers: Record<string, string> = {},
  ) {
    const body = form(fields, files);
    return api.app.inject({
      method: 'POST',
      url: '/v1/voices',
      headers: { authorization: `Bearer ${key}`, ...body.headers, ...headers },
      payload: body.payload,
    });
  }

  it('stores the file with its digest and clones from it', async () => {
    const bytes = wav();
    const res = await upload(
      {
        name: 'Uploaded',
        need_noise_reduction: 'true',
        accuracy: '0.9',
        keep_alive: 'true',
        metadata: '{"source":"studio"}',
      },
      [{ bytes }],
    );
    expect(res.statusCode, res.body).toBe(202);
    const voice = res.json();
    expect(voice).toMatchObject({
      name: 'Uploaded',
      status: 'cloning',
      reference: { kind: 'upload', url: null },
      settings: { need_noise_reduction: true, accuracy: 0.9 },
      keep_alive: true,
      metadata: { source: 'studio' },
    });
    const { rows } = await api.database.pool.query(
      `select r.sha256, r.size, r.content_type, r.file_name, r.bytes, v.audio_url, j.request
         from voice_references r join voices v on v.id = r.voice_id
         join clone_jobs j on j.id = v.clone_job_id where r.voice_id = $1`,
      [voice.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      content_type: 'audio/wav',
      file_name: 'narrator.wav',
      audio_url: null,
    });
    expect(Buffer.compare(rows[0].bytes, bytes)).toBe(0);
    // The worker uploads the stored bytes upstream before each submit and fills this in.
    expect(rows[0].request.audio).toBe('');
  });

  it('replays the same form under the same Idempotency-Key, and refuses another file', async () => {
    const headers = { 'idempotency-key': 'upload-1' };
    const first = await upload({ name: 'Once' }, [{ bytes: wav() }], headers);
    expect(first.statusCode).toBe(202);
    const again = await upload({ name: 'Once' }, [{ bytes: wav() }], headers);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const other = Buffer.concat([wav(), Buffer.alloc(10, 1)]);
    const conflict = await upload({ name: 'Once' }, [{ bytes: other }], headers);
    expect(conflict.statusCode).toBe(409);
  });

  it('answers 413 to a client still sending a file over the limit, over a real socket', async () => {
    const address = await api.app.listen({ port: 0, host: '127.0.0.1' });
    const body = form({}, [{ bytes: Buffer.concat([wav(), Buffer.alloc(12 * 1024 * 1024)]) }]);
    const res = await fetch(`${address}/v1/voices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, ...body.headers },
      body: body.payload,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'payload_too_large',
    );
  });

  describe('refuses, naming the field, and writes nothing', () => {
    const mp3Like = Buffer.from([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0]);
    const cases: Array<[string, Record<string, string>, FilePart[], number, string, RegExp]> = [
      ['no file', { name: 'x' }, [], 400, 'file', /required/],
      ['not audio', {}, [{ bytes: Buffer.from('%PDF-1.7 hello') }], 400, 'file', /MP3 or WAV/],
      ['two files', {}, [{ bytes: wav() }, { bytes: mp3Like }], 400, 'file', /one file/],
      [
        'a file under another name',
        {},
        [{ field: 'audio_file', bytes: wav() }],
        400,
        'audio_file',
        /unknown/,
      ],
      [
        'a file and an audio URL',
        { audio: AUDIO_URL },
        [{ bytes: wav() }],
        400,
        'audio',
        /not both/,
      ],
      ['an unknown field', { speed: '1' }, [{ bytes: wav() }], 400, 'speed', /unknown field/],
      [
        'a boolean that is not one',
        { need_noise_reduction: 'yes' },
        [{ bytes: wav() }],
        400,
        'need_noise_reduction',
        /boolean/,
      ],
      [
        'metadata that is not JSON',
        { metadata: '{oops' },
        [{ bytes: wav() }],
        400,
        'metadata',
        /object/,
      ],
      [
        'a file over 10 MB',
        {},
        [{ bytes: Buffer.concat([wav(), Buffer.alloc(10 * 1024 * 1024)]) }],
        413,
        'file',
        /at most/,
      ],
    ];
    it.each(cases)('%s', async (_name, fields, files, status, path, message) => {
      const before = await counts(api.database);
      const queued = await submitJobIds(api.queues);
      const res = await upload(fields, files);
      expect(res.statusCode, res.body).toBe(status);
      const problem = res.json().error.details.find((d: { path: string }) => d.path === path);
      expect(problem, res.body).toBeDefined();
      expect(problem.message).toMatch(message);
      expect(await counts(api.database)).toEqual(before);
      expect(await submitJobIds(api.queues)).toEqual(queued);
    });
  });
});
