import { join } from 'node:path';
import { ConfigError, loadConfig } from '@voxline/config';
import { describe, expect, it } from 'vitest';
import { AudioStoreConfigError, openAudioStore, parseAudioStoreUrl } from '../src/index.js';

const s3Env = {
  S3_REGION: 'us-east-1',
  S3_FORCE_PATH_STYLE: false,
};

describe('AUDIO_STORE', () => {
  it('reads folder and bucket addresses', () => {
    expect(parseAudioStoreUrl('file://./data/audio', '/srv/voxline')).toEqual({
      kind: 'file',
      root: '/srv/voxline/data/audio',
    });
    expect(parseAudioStoreUrl('file://data/audio', '/srv/voxline')).toEqual({
      kind: 'file',
      root: '/srv/voxline/data/audio',
    });
    expect(parseAudioStoreUrl('file:///var/lib/voxline%20audio', '/srv')).toEqual({
      kind: 'file',
      root: '/var/lib/voxline audio',
    });
    expect(parseAudioStoreUrl('s3://my-bucket', '/srv')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
    });
    expect(parseAudioStoreUrl('s3://my-bucket/a/b/', '/srv')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'a/b',
    });
  });

  it('names the variable when it cannot be read', () => {
    for (const bad of ['file://', 'http://example.com', 's3://', 's3://UPPER', '/plain/path']) {
      expect(() => parseAudioStoreUrl(bad, '/srv'), bad).toThrow(AudioStoreConfigError);
      expect(() => parseAudioStoreUrl(bad, '/srv'), bad).toThrow(/^AUDIO_STORE: /);
    }
  });

  it('opens the default folder under the working directory', async () => {
    const store = openAudioStore(
      { AUDIO_STORE: 'file://./data/audio', ...s3Env },
      { cwd: '/srv/voxline' },
    );
    expect(store.kind).toBe('file');
    expect(store.location).toBe(`file://${join('/srv/voxline', 'data', 'audio')}`);
    await store.close();
  });

  it('refuses half an S3 key pair instead of falling back to other credentials, naming no secret', () => {
    const open = () =>
      openAudioStore({
        AUDIO_STORE: 's3://bucket',
        ...s3Env,
        S3_SECRET_ACCESS_KEY: 'very-secret-value',
      });
    expect(open).toThrow(AudioStoreConfigError);
    expect(open).toThrow(/^S3_ACCESS_KEY_ID: /);
    expect(open).not.toThrow(/very-secret-value/);
  });
});

describe('openAudioStore from @voxline/config', () => {
  it('takes the parsed configuration as it is, defaults included', async () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      AUDIO_STORE: 'file://./data/audio',
      AUDIO_MAX_BYTES: 50 * 1024 * 1024,
    });
    expect(config.AUDIO_RETENTION_DAYS).toBeUndefined();
    const store = openAudioStore(config, { cwd: '/srv/voxline' });
    expect(store.location).toBe('file:///srv/voxline/data/audio');
    await store.close();
  });

  it('refuses an AUDIO_STORE it cannot open, naming the variable and not its value', () => {
    expect(() => loadConfig({ AUDIO_STORE: 'ftp://user:hunter2@host/audio' })).toThrow(ConfigError);
    expect(() => loadConfig({ AUDIO_STORE: 'ftp://user:hunter2@host/audio' })).toThrow(
      /AUDIO_STORE: must be/,
    );
    expect(() => loadConfig({ AUDIO_STORE: 'ftp://user:hunter2@host/audio' })).not.toThrow(
      /hunter2/,
    );
    expect(loadConfig({ S3_FORCE_PATH_STYLE: 'true' }).S3_FORCE_PATH_STYLE).toBe(true);
  });
});
