import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { MetadataTap } from '../src/metadata.js';
import { chunked, mp3, sha256, wav } from './audio.js';

/** A destination that takes one chunk per timer tick: slower than the parser beside it. */
function slowSink(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      setImmediate(callback);
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

describe('MetadataTap', () => {
  it('passes every byte through unchanged while describing the file', async () => {
    const file = wav(200);
    const tap = new MetadataTap({ bytes: file.length, contentType: 'audio/wav' });
    const out = slowSink();
    await pipeline(chunked(file), tap, out.sink);
    expect(sha256(out.bytes())).toBe(sha256(file));
    expect(await tap.metadata).toEqual({
      format: 'wav',
      contentType: 'audio/wav',
      durationMs: 12_000,
      sampleRate: 16_000,
      channels: 1,
    });
  });

  it('describes a WAV from its header, before its samples have arrived', async () => {
    const file = wav(200);
    const source = new PassThrough();
    const tap = new MetadataTap({ bytes: file.length, contentType: 'audio/wav' });
    const out = slowSink();
    const done = pipeline(source, tap, out.sink);
    source.write(file.subarray(0, 4_096));
    // Read from the header alone: the rest of the file is still to come.
    expect(await tap.metadata).toMatchObject({ format: 'wav', durationMs: 12_000 });
    source.end(file.subarray(4_096));
    await done;
    expect(out.bytes().equals(file)).toBe(true);
  });

  it('describes an MP3 without a length, byte by byte as small chunks arrive', async () => {
    const file = await mp3(wav(50));
    const source = Readable.from(
      (function* () {
        for (let at = 0; at < file.length; at += 1_000) yield file.subarray(at, at + 1_000);
      })(),
    );
    const tap = new MetadataTap({ contentType: 'audio/mpeg' });
    const out = slowSink();
    await pipeline(source, tap, out.sink);
    expect(out.bytes().equals(file)).toBe(true);
    expect(await tap.metadata).toMatchObject({ format: 'mp3', sampleRate: 16_000, channels: 1 });
  });

  it('keeps passing bytes after the parser gave up on them, and rejects', async () => {
    const html = Buffer.from('<html><body>Access denied</body></html>'.repeat(5_000));
    const tap = new MetadataTap({ bytes: html.length });
    const out = slowSink();
    await pipeline(chunked(html), tap, out.sink);
    expect(out.bytes().equals(html)).toBe(true);
    await expect(tap.metadata).rejects.toThrow(/not an audio file|unsupported container/);
  });

  it('ends the parse when the bytes stop early', async () => {
    const file = wav(200);
    const source = new PassThrough();
    const tap = new MetadataTap({ bytes: file.length });
    const done = pipeline(source, tap, slowSink().sink);
    source.write(file.subarray(0, 20_000));
    source.destroy(new Error('connection reset'));
    await expect(done).rejects.toThrow('connection reset');
    await expect(tap.metadata).rejects.toThrow();
  });
});
