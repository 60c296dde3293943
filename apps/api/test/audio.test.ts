/// <reference path="../../../packages/audio-store/test/s3rver.d.ts" />
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AudioStore, openAudioStore } from '@voxline/audio-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The S3-protocol server the audio store's own tests run against (s3rver, from npm).
import {
  S3_CREDENTIALS,
  type S3Server,
  startS3Server,
} from '../../../packages/audio-store/test/s3-server.js';
import { type Api, startApi } from './harness.js';
import { noise, sha256, storeResult } from './stored-audio.js';

const BASE_URL = 'https://voxline.example.com/api';

async function speechLine(api: Api, key: string, text = 'Hello there.') {
  const res = await api.request('POST', '/v1/clones', {
    key,
    body: { system_voice: 'Wise_Woman', text, reuse_audio: false },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id as string;
}

/** The same checks against whichever store the API was opened on. */
function servesStoredAudio(
  name: string,
  open: () => Promise<{ api: Api; close(): Promise<void> }>,
) {
  describe(`GET /v1/clones/:id/audio from the ${name} store`, () => {
    let api: Api;
    let close: () => Promise<void>;
    let store: AudioStore;
    let tenant: { id: string; key: string };
    let id: string;
    const bytes = noise(200_003);
    beforeAll(async () => {
      ({ api, close } = await open());
      // A second handle on the same store, as the worker has: the API only reads.
      store = openAudioStore(api.config);
      tenant = await api.tenant();
      id = await speechLine(api, tenant.key);
      await storeResult(api, { tenantId: tenant.id, cloneJobId: id, bytes, store });
    });
    afterAll(async () => {
      await store?.close();
      await close?.();
    });

    const get = (path: string, headers: Record<string, string> = {}) =>
      api.request('GET', path, { key: tenant.key, headers });

    it('streams the whole file byte-exact with its type, length and SHA-256 ETag', async () => {
      const res = await get(`/v1/clones/${id}/audio`);
      expect(res.statusCode).toBe(200);
      expect(sha256(res.rawPayload)).toBe(sha256(bytes));
      expect(res.headers).toMatchObject({
        'content-type': 'audio/wav',
        'content-length': String(bytes.length),
        etag: `"${sha256(bytes)}"`,
        'accept-ranges': 'bytes',
      });
      // The clone links this copy under PUBLIC_BASE_URL, and keeps upstream's link beside it.
      const clone = (await get(`/v1/clones/${id}`)).json();
      expect(clone.audio).toMatchObject({
        url: `${BASE_URL}/v1/clones/${id}/audio`,
        upstream_url: expect.stringMatching(/^https:\/\/cdn\.runninghub\.example\//),
        sha256: sha256(bytes),
        bytes: bytes.length,
        format: 'wav',
        duration_ms: 1_000,
        sample_rate: 24_000,
        channels: 1,
      });
    });

    it('answers HEAD with the headers and no body', async () => {
      const res = await api.app.inject({
        method: 'HEAD',
        url: `/v1/clones/${id}/audio`,
        headers: { authorization: `Bearer ${tenant.key}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers).toMatchObject({
        'content-length': String(bytes.length),
        etag: `"${sha256(bytes)}"`,
      });
      expect(res.rawPayload.length).toBe(0);
    });

    it('serves one byte range as 206, and a range past the end as 416', async () => {
      for (const [header, start, end] of [
        // s3rver reads a last byte of 0 as "to the end" (`options.end || Infinity` in its
        // filesystem store); S3 itself serves one byte. The folder store is asked for it.
        ...(name === 'S3' ? [] : ([['bytes=0-0', 0, 0]] as const)),
        ['bytes=1-1', 1, 1],
        ['bytes=100-65635', 100, 65_635],
        ['bytes=199000-', 199_000, bytes.length - 1],
        ['bytes=-17', bytes.length - 17, bytes.length - 1],
        ['bytes=150000-999999999', 150_000, bytes.length - 1],
      ] as const) {
        const res = await get(`/v1/clones/${id}/audio`, { range: header });
        expect(res.statusCode, header).toBe(206);
        expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${bytes.length}`);
        expect(res.headers['content-length']).toBe(String(end - start + 1));
        expect(res.rawPayload.equals(bytes.subarray(start, end + 1)), header).toBe(true);
      }
      const past = await get(`/v1/clones/${id}/audio`, { range: `bytes=${bytes.length}-` });
      expect(past.statusCode).toBe(416);
      expect(past.headers['content-range']).toBe(`bytes */${bytes.length}`);
      expect(past.json().error.code).toBe('range_not_satisfiable');
      // A range for another version of the file (If-Range) is ignored: the whole file.
      const stale = await get(`/v1/clones/${id}/audio`, {
        range: 'bytes=0-9',
        'if-range': '"old"',
      });
      expect(stale.statusCode).toBe(200);
      expect(stale.rawPayload.length).toBe(bytes.length);
    });

    it('answers 304 to a matching If-None-Match', async () => {
      const res = await get(`/v1/clones/${id}/audio`, { 'if-none-match': `"${sha256(bytes)}"` });
      expect(res.statusCode).toBe(304);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers.etag).toBe(`"${sha256(bytes)}"`);
      const other = await get(`/v1/clones/${id}/audio`, { 'if-none-match': '"nope"' });
      expect(other.statusCode).toBe(200);
    });

    it('is 404 before archiving and for another tenant, 410 once purged', async () => {
      const queued = await speechLine(api, tenant.key, 'Not yet.');
      const notYet = await get(`/v1/clones/${queued}/audio`);
      expect(notYet.statusCode).toBe(404);
      expect(notYet.json().error.code).toBe('audio_not_archived');

      const upstreamOnly = await speechLine(api, tenant.key, 'Before the store.');
      await storeResult(api, { tenantId: tenant.id, cloneJobId: upstreamOnly, archived: false });
      expect((await get(`/v1/clones/${upstreamOnly}/audio`)).json().error.code).toBe(
        'audio_not_archived',
      );
      // Without a stored copy the clone's link is still upstream's.
      const clone = (await get(`/v1/clones/${upstreamOnly}`)).json();
      expect(clone.audio.url).toBe(clone.audio.upstream_url);

      const other = await api.tenant('other');
      const res = await api.request('GET', `/v1/clones/${id}/audio`, { key: other.key });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');

      const purged = await speechLine(api, tenant.key, 'Gone later.');
      await storeResult(api, { tenantId: tenant.id, cloneJobId: purged, store });
      await api.database.pool.query(
        'update audio_results set purged_at = now() where clone_job_id = $1',
        [purged],
      );
      const gone = await get(`/v1/clones/${purged}/audio`);
      expect(gone.statusCode).toBe(410);
      expect(gone.json().error.code).toBe('audio_purged');
    });

    if (name === 'S3') {
      it('?redirect=true answers a presigned URL that S3 serves byte-exact', async () => {
        const res = await get(`/v1/clones/${id}/audio?redirect=true`);
        expect(res.statusCode).toBe(302);
        const location = res.headers.location as string;
        expect(location).toMatch(/X-Amz-Signature=/);
        const fetched = await fetch(location);
        expect(fetched.status).toBe(200);
        expect(sha256(Buffer.from(await fetched.arrayBuffer()))).toBe(sha256(bytes));
      });
    } else {
      it('?redirect=true streams as without it (a folder has no presigned URLs)', async () => {
        const res = await get(`/v1/clones/${id}/audio?redirect=true`);
        expect(res.statusCode).toBe(200);
        expect(sha256(res.rawPayload)).toBe(sha256(bytes));
      });
    }
  });
}

servesStoredAudio('folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'voxline-api-audio-'));
  const api = await startApi({
    AUDIO_STORE: pathToFileURL(root).href,
    PUBLIC_BASE_URL: `${BASE_URL}/`,
  });
  return {
    api,
    async close() {
      await api.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

servesStoredAudio('S3', async () => {
  const server: S3Server = await startS3Server();
  const api = await startApi({
    AUDIO_STORE: `s3://${server.bucket}/tenants`,
    S3_ENDPOINT: server.endpoint,
    S3_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    PUBLIC_BASE_URL: BASE_URL,
  });
  return {
    api,
    async close() {
      await api.close();
      await server.close();
    },
  };
});
