import { Readable } from 'node:stream';
import { waitFor } from '@voxline/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RangeNotSatisfiableError } from '../src/index.js';
import { chunked, noise, readObject, sha256 } from './audio.js';
import { fileStoreFixture, type StoreFixture, s3StoreFixture } from './stores.js';

// The same behaviour from both backends: what the worker and the API rely on.
describe.each([
  ['folder', fileStoreFixture],
  ['S3 (s3rver)', s3StoreFixture],
] as const)('the %s store', (_name, makeFixture) => {
  let fixture: StoreFixture;
  beforeAll(async () => {
    fixture = await makeFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('stores a stream and gives back the same bytes, with their hash', async () => {
    const { store } = fixture;
    const bytes = noise(3 * 1024 * 1024 + 17);
    const put = await store.put('t1/round-trip.wav', chunked(bytes), { contentType: 'audio/wav' });
    expect(put).toEqual({ key: 't1/round-trip.wav', bytes: bytes.length, sha256: sha256(bytes) });

    const head = await store.head('t1/round-trip.wav');
    expect(head).toMatchObject({
      key: 't1/round-trip.wav',
      bytes: bytes.length,
      sha256: sha256(bytes),
      contentType: 'audio/wav',
    });
    expect(head?.etag).toMatch(/\S/);

    const object = await store.get('t1/round-trip.wav');
    expect(object).toMatchObject({ bytes: bytes.length, totalBytes: bytes.length, range: null });
    expect(sha256(await readObject(object))).toBe(sha256(bytes));
  });

  it('reads byte ranges, clamps an end past the last byte and refuses a start past it', async () => {
    const { store } = fixture;
    const bytes = noise(10_000);
    await store.put('t1/ranges.wav', chunked(bytes));

    const middle = await store.get('t1/ranges.wav', { start: 100, end: 199 });
    expect(middle).toMatchObject({
      bytes: 100,
      totalBytes: 10_000,
      range: { start: 100, end: 199 },
    });
    expect((await readObject(middle)).equals(bytes.subarray(100, 200))).toBe(true);

    const tail = await store.get('t1/ranges.wav', { start: 9_990 });
    expect(tail).toMatchObject({ bytes: 10, range: { start: 9_990, end: 9_999 } });
    expect((await readObject(tail)).equals(bytes.subarray(9_990))).toBe(true);

    const clamped = await store.get('t1/ranges.wav', { start: 9_000, end: 20_000 });
    expect(clamped).toMatchObject({ bytes: 1_000, range: { start: 9_000, end: 9_999 } });
    clamped?.body.destroy();

    const past = store.get('t1/ranges.wav', { start: 10_000 });
    await expect(past).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    await expect(past).rejects.toMatchObject({ totalBytes: 10_000 });
  });

  it('answers null for a key that holds nothing, and deletes idempotently', async () => {
    const { store } = fixture;
    expect(await store.head('t1/never.wav')).toBeNull();
    expect(await store.get('t1/never.wav')).toBeNull();
    await store.put('t1/deleted.wav', chunked(noise(1_000)));
    await store.delete('t1/deleted.wav');
    await store.delete('t1/deleted.wav');
    expect(await store.head('t1/deleted.wav')).toBeNull();
  });

  it('keeps nothing of a put whose body fails, and keeps what the key held before', async () => {
    const { store } = fixture;
    const before = noise(2_000);
    await store.put('t1/kept.wav', chunked(before));
    const failing = Readable.from(
      (async function* () {
        yield noise(6 * 1024 * 1024);
        throw new Error('connection dropped');
      })(),
    );
    await expect(store.put('t1/kept.wav', failing)).rejects.toThrow('connection dropped');
    const object = await store.get('t1/kept.wav');
    expect(sha256(await readObject(object))).toBe(sha256(before));

    const fresh = Readable.from(
      (async function* () {
        yield noise(1_000);
        throw new Error('connection dropped');
      })(),
    );
    await expect(store.put('t1/half.wav', fresh)).rejects.toThrow('connection dropped');
    expect(await store.head('t1/half.wav')).toBeNull();
  });

  it('lists and deletes what is older than a cutoff, and nothing newer', async () => {
    const { store } = fixture;
    await store.put('retention/old.wav', chunked(noise(500)));
    const old = await store.head('retention/old.wav');
    // S3 keeps LastModified to the second: the newer file must be written a second later.
    const cutoff = new Date((old?.lastModified.getTime() ?? 0) + 1_000);
    await waitFor('the clock to pass the cutoff', () => Date.now() > cutoff.getTime() + 10);
    await store.put('retention/new.wav', chunked(noise(500)));

    const listed = [];
    for await (const entry of store.listOlderThan(cutoff)) {
      if (entry.key.startsWith('retention/')) listed.push(entry);
    }
    expect(listed).toEqual([
      { key: 'retention/old.wav', bytes: 500, lastModified: old?.lastModified },
    ]);

    const deleted = await store.deleteOlderThan(cutoff);
    expect(deleted).toContain('retention/old.wav');
    expect(deleted).not.toContain('retention/new.wav');
    expect(await store.head('retention/old.wav')).toBeNull();
    expect(await store.head('retention/new.wav')).not.toBeNull();
  });
});
