import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileStore } from './file-store.js';
import { createS3Store } from './s3-store.js';
import type { AudioStore } from './store.js';

/** The variables the store is opened from: a subset of @voxline/config's Config. */
export interface AudioStoreEnv {
  AUDIO_STORE: string;
  S3_ENDPOINT?: string | undefined;
  S3_REGION: string;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
  S3_FORCE_PATH_STYLE: boolean;
}

export type AudioStoreTarget =
  | { kind: 'file'; root: string }
  | { kind: 's3'; bucket: string; prefix: string };

/** Raised for an AUDIO_STORE (or S3_*) setting no store can be opened from; names the variable. */
export class AudioStoreConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'AudioStoreConfigError';
  }
}

/**
 * Reads AUDIO_STORE. `file://./data/audio` (no third slash) is relative to `cwd`, so the default
 * needs nothing configured; `file:///srv/audio` is absolute.
 */
export function parseAudioStoreUrl(value: string, cwd: string): AudioStoreTarget {
  if (value.startsWith('file:///')) return { kind: 'file', root: fileURLToPath(value) };
  if (value.startsWith('file://')) {
    const path = decodeURIComponent(value.slice('file://'.length));
    if (path.length === 0 || isAbsolute(path)) {
      throw new AudioStoreConfigError('AUDIO_STORE', 'file:// needs a path');
    }
    return { kind: 'file', root: resolve(cwd, path) };
  }
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value);
  if (s3?.[1]) return { kind: 's3', bucket: s3[1], prefix: (s3[2] ?? '').replace(/\/+$/, '') };
  throw new AudioStoreConfigError(
    'AUDIO_STORE',
    'must be file:///path, file://./relative/path or s3://bucket[/prefix]',
  );
}

/** Opens the store AUDIO_STORE names; the caller closes it. */
export function openAudioStore(env: AudioStoreEnv, { cwd = process.cwd() } = {}): AudioStore {
  const target = parseAudioStoreUrl(env.AUDIO_STORE, cwd);
  if (target.kind === 'file') return createFileStore(target.root);
  const { S3_ACCESS_KEY_ID: accessKeyId, S3_SECRET_ACCESS_KEY: secretAccessKey } = env;
  // Half a key pair would silently fall back to the SDK's default chain: refuse it instead.
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new AudioStoreConfigError(
      accessKeyId ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID',
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together or not at all',
    );
  }
  return createS3Store({
    bucket: target.bucket,
    prefix: target.prefix,
    region: env.S3_REGION,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  });
}
