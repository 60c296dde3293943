import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AudioStore, createFileStore, createS3Store } from '../src/index.js';
import { S3_CREDENTIALS, type S3Server, startS3Server } from './s3-server.js';

export interface StoreFixture {
  store: AudioStore;
  close(): Promise<void>;
}

export async function fileStoreFixture(): Promise<StoreFixture & { root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'voxline-audio-'));
  const store = createFileStore(root);
  return {
    store,
    root,
    async close() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export const PART_SIZE = 5 * 1024 * 1024;

export async function s3StoreFixture(
  prefix = 'tenants',
): Promise<StoreFixture & { server: S3Server }> {
  const server = await startS3Server();
  const store = createS3Store({
    bucket: server.bucket,
    prefix,
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: S3_CREDENTIALS,
    forcePathStyle: true,
    // S3's minimum, so a multipart upload needs only a little over 5 MiB.
    partSizeBytes: PART_SIZE,
  });
  return {
    store,
    server,
    async close() {
      await store.close();
      await server.close();
    },
  };
}
