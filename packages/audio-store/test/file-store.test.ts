import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../src/index.js';
import { chunked, noise, sha256 } from './audio.js';
import { fileStoreFixture } from './stores.js';

describe('the folder store', () => {
  let fixture: Awaited<ReturnType<typeof fileStoreFixture>>;
  beforeAll(async () => {
    fixture = await fileStoreFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('keeps each object as a plain file under its key', async () => {
    const { store, root } = fixture;
    const bytes = noise(5_000);
    await store.put('tenant-a/clone_1.wav', chunked(bytes));
    expect(sha256(await readFile(join(root, 'tenant-a', 'clone_1.wav')))).toBe(sha256(bytes));
    expect(store.location).toBe(`file://${root}`);
    expect(await store.presign('tenant-a/clone_1.wav', { expiresInSeconds: 60 })).toBeNull();
  });

  it('leaves no temp file behind a failed put and never shows a partial file', async () => {
    const { store, root } = fixture;
    let sawPartial = false;
    const failing = Readable.from(
      (async function* () {
        yield noise(100_000);
        // Mid-write: the final name must not exist yet.
        sawPartial = (await readdir(root)).includes('partial.wav');
        throw new Error('connection dropped');
      })(),
    );
    await expect(store.put('partial.wav', failing)).rejects.toThrow('connection dropped');
    expect(sawPartial).toBe(false);
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
    expect(await store.head('partial.wav')).toBeNull();
  });

  it('refuses keys that could leave the folder or reach its bookkeeping', async () => {
    const { store } = fixture;
    for (const key of [
      '',
      '../escape.wav',
      'a/../../b.wav',
      '/etc/passwd',
      '.meta/x.json',
      'a//b',
      'a/.tmp/b',
      'sp ace.wav',
    ]) {
      await expect(store.put(key, chunked(noise(1))), key).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.head(key), key).rejects.toBeInstanceOf(InvalidKeyError);
    }
  });

  it('describes a file put there by hand, without a hash it never recorded', async () => {
    const { store, root } = fixture;
    await writeFile(join(root, 'by-hand.wav'), 'twelve bytes');
    expect(await store.head('by-hand.wav')).toMatchObject({
      bytes: 12,
      sha256: null,
      contentType: null,
    });
  });

  it('removes old files whatever their name, and stale temp files', async () => {
    const { store, root } = fixture;
    const stale = join(root, '.tmp', 'left-by-a-crash');
    await writeFile(stale, 'half');
    const longAgo = new Date(Date.now() - 10 * 24 * 3_600_000);
    await utimes(stale, longAgo, longAgo);
    const oddName = join(root, 'dropped here by hand.wav');
    await writeFile(oddName, 'old');
    await utimes(oddName, longAgo, longAgo);
    const deleted = await store.deleteOlderThan(new Date(Date.now() - 24 * 3_600_000));
    expect(deleted).toContain('dropped here by hand.wav');
    expect(await readdir(root)).not.toContain('dropped here by hand.wav');
    expect(await readdir(join(root, '.tmp'))).not.toContain('left-by-a-crash');
  });
});
