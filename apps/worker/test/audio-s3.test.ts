/// <reference path="../../../packages/audio-store/test/s3rver.d.ts" />
import { createHash } from 'node:crypto';
import { getAudioResult } from '@voxline/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The audio store's own S3-protocol server for tests (s3rver, checking every signature).
import {
  S3_CREDENTIALS,
  type S3Server,
  startS3Server,
} from '../../../packages/audio-store/test/s3-server.js';
import { type Harness, startHarness } from './harness.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('the archive step into an S3 bucket', () => {
  let s3: S3Server;
  let h: Harness;
  beforeAll(async () => {
    s3 = await startS3Server();
    h = await startHarness({
      env: {
        AUDIO_STORE: `s3://${s3.bucket}/audio`,
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await s3?.close();
  });

  it('stores each result byte-exact under its key in the bucket', async () => {
    const { ids } = await h.submit(['Kept in a bucket.', 'Also kept in a bucket.']);
    const rows = await h.waitTerminal(ids);
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    for (const id of ids) {
      const audio = await getAudioResult(h.db.db, { tenantId: h.tenantId, cloneJobId: id });
      const upstream = Buffer.from(await (await fetch(audio?.url as string)).arrayBuffer());
      expect(audio?.storageKey).toBe(`${h.tenantId}/${id}-1.wav`);
      expect(audio?.sha256).toBe(sha256(upstream));
      const stored = await h.runtime.context.audio.store.get(audio?.storageKey as string);
      const chunks: Buffer[] = [];
      for await (const chunk of stored?.body ?? []) chunks.push(chunk as Buffer);
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(upstream));
    }
    // Under the bucket's prefix, as S3 itself saw the uploads.
    expect(s3.requests.some((r) => r.startsWith(`PUT /${s3.bucket}/audio/${h.tenantId}/`))).toBe(
      true,
    );
  });
});
