import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Store, openAudioStore } from '../src/index.js';
import { chunked, noise, readObject, sha256 } from './audio.js';
import { S3_CREDENTIALS } from './s3-server.js';
import { PART_SIZE, s3StoreFixture } from './stores.js';

describe('the S3 store against s3rver', () => {
  let fixture: Awaited<ReturnType<typeof s3StoreFixture>>;
  beforeAll(async () => {
    fixture = await s3StoreFixture('tenants');
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('uploads a file larger than a part in several parts, byte-exact', async () => {
    const { store, server } = fixture;
    const bytes = noise(2 * PART_SIZE + 123_457);
    const before = server.requests.length;
    const put = await store.put('t1/long.wav', chunked(bytes), { contentType: 'audio/wav' });
    expect(put).toEqual({ key: 't1/long.wav', bytes: bytes.length, sha256: sha256(bytes) });

    const calls = server.requests.slice(before);
    expect(
      calls.filter((call) => /^POST \/voxline-audio\/tenants\/t1\/long\.wav\?uploads/.test(call)),
    ).toHaveLength(1);
    expect(calls.filter((call) => /^PUT .*partNumber=\d+/.test(call))).toHaveLength(3);

    const head = await store.head('t1/long.wav');
    expect(head).toMatchObject({
      bytes: bytes.length,
      sha256: sha256(bytes),
      contentType: 'audio/wav',
    });
    const object = await store.get('t1/long.wav');
    expect(sha256(await readObject(object))).toBe(sha256(bytes));

    // A range across the boundary between the first two parts.
    const across = await store.get('t1/long.wav', { start: PART_SIZE - 10, end: PART_SIZE + 9 });
    expect((await readObject(across)).equals(bytes.subarray(PART_SIZE - 10, PART_SIZE + 10))).toBe(
      true,
    );
  });

  it('keeps keys under its prefix', async () => {
    const { store, server } = fixture;
    expect(store.location).toBe('s3://voxline-audio/tenants');
    await store.put('t2/prefixed.wav', chunked(noise(100)));
    const bare = createS3Store({
      bucket: server.bucket,
      prefix: '',
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: S3_CREDENTIALS,
      forcePathStyle: true,
    });
    try {
      expect(await bare.head('tenants/t2/prefixed.wav')).toMatchObject({ bytes: 100 });
      expect(await bare.head('t2/prefixed.wav')).toBeNull();
    } finally {
      await bare.close();
    }
  });

  it('presigns a GET that a plain HTTP client can fetch, and that fails once tampered with', async () => {
    const { store } = fixture;
    const bytes = noise(40_000);
    await store.put('t1/shared.mp3', chunked(bytes));
    const url = await store.presign('t1/shared.mp3', {
      expiresInSeconds: 300,
      contentType: 'audio/mpeg',
      fileName: 'line 1.mp3',
    });
    expect(url).toMatch(/X-Amz-Signature=/);

    const answer = await request(url as string);
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('audio/mpeg');
    expect(answer.headers['content-disposition']).toBe('attachment; filename="line 1.mp3"');
    expect(sha256(Buffer.from(await answer.body.arrayBuffer()))).toBe(sha256(bytes));

    // Another key under the same signature: the server checks it, so this is refused.
    const forged = (url as string).replace('shared.mp3', 'other.mp3');
    const refused = await request(forged);
    await refused.body.dump();
    expect(refused.statusCode).toBe(403);
  });

  it('is what openAudioStore opens for an s3:// AUDIO_STORE', async () => {
    const { server } = fixture;
    const store = openAudioStore({
      AUDIO_STORE: 's3://voxline-audio/opened/here/',
      S3_ENDPOINT: server.endpoint,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: true,
    });
    try {
      expect(store.kind).toBe('s3');
      expect(store.location).toBe('s3://voxline-audio/opened/here');
      const bytes = noise(1_000);
      await store.put('x.wav', chunked(bytes));
      expect((await store.head('x.wav'))?.sha256).toBe(sha256(bytes));
      expect(
        server.requests.some((call) => call.startsWith('PUT /voxline-audio/opened/here/x.wav')),
      ).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('refuses signatures made with the wrong secret', async () => {
    const { server } = fixture;
    const store = createS3Store({
      bucket: server.bucket,
      prefix: '',
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: { accessKeyId: S3_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong-secret' },
      forcePathStyle: true,
    });
    try {
      await expect(store.put('x.wav', chunked(noise(10)))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
      });
    } finally {
      await store.close();
    }
  });
});
