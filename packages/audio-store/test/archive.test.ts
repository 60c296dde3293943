import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '@voxline/testing/net';
import { waitFor } from '@voxline/testing/wait';
import { assertPublicTarget, createGuardedLookup, parseAllowlist } from '@voxline/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArchiveError,
  type ArchiveOptions,
  archiveFromUrl,
  createArchiveDispatcher,
  InvalidKeyError,
  type TargetGuard,
} from '../src/index.js';
import { mp3, noise, readObject, sha256, wav } from './audio.js';
import { serve, startHttpServer, type TestServer } from './http-server.js';
import { fileStoreFixture, type StoreFixture, s3StoreFixture } from './stores.js';

/** The webhooks' SSRF guard, wired as the worker will wire it. */
function guard(allow: string[]): TargetGuard {
  const allowlist = parseAllowlist(allow);
  return {
    check: (url) => assertPublicTarget(url, allowlist),
    lookup: createGuardedLookup(allowlist),
  };
}

const LOOPBACK = guard(['127.0.0.0/8']);
const MAX_BYTES = 1_000_000;

function options(overrides: Partial<ArchiveOptions> = {}): ArchiveOptions {
  return {
    guard: LOOPBACK,
    maxBytes: MAX_BYTES,
    timeoutMs: 10_000,
    connectTimeoutMs: 2_000,
    ...overrides,
  };
}

// 200 characters of text: 12 s of 16 kHz mono speech-like tones.
const WAV = wav(200);
let MP3: Buffer;
let server: TestServer;

beforeAll(async () => {
  MP3 = await mp3(WAV);
  server = await startHttpServer({
    '/speech.wav': serve(WAV, 'audio/wav'),
    '/speech.mp3': serve(MP3, 'audio/mpeg'),
    '/redirect': (_req, res) => res.writeHead(302, { location: '/speech.wav' }).end(),
    '/too-long': serve(noise(MAX_BYTES + 1), 'audio/wav'),
    '/too-long-unannounced': (_req, res) => {
      // No Content-Length: the cap has to be enforced while the bytes flow.
      res.writeHead(200, { 'content-type': 'audio/wav' });
      for (let sent = 0; sent <= MAX_BYTES; sent += 65_536) res.write(noise(65_536));
      res.end();
    },
    '/stalls-mid-body': (_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': WAV.length });
      res.write(WAV.subarray(0, 10_000));
    },
    '/never-answers': () => {},
    '/gone': (_req, res) => res.writeHead(404).end('expired'),
    '/busy': (_req, res) => res.writeHead(503).end('try later'),
    '/not-audio': serve(Buffer.from('<html><body>Access denied</body></html>'), 'text/html'),
  });
});

afterAll(async () => {
  await server?.close();
});

describe.each([
  ['folder', fileStoreFixture],
  ['S3 (s3rver)', s3StoreFixture],
] as const)('archiving into the %s store', (_name, makeFixture) => {
  let fixture: StoreFixture;
  beforeAll(async () => {
    fixture = await makeFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('stores a WAV byte-exact and reads its format from the bytes it stores', async () => {
    const archived = await archiveFromUrl(
      fixture.store,
      't1/line-1.wav',
      server.url('/speech.wav'),
      options(),
    );
    expect(archived).toEqual({
      key: 't1/line-1.wav',
      sha256: sha256(WAV),
      bytes: WAV.length,
      format: 'wav',
      contentType: 'audio/wav',
      durationMs: 12_000,
      sampleRate: 16_000,
      channels: 1,
    });
    const object = await fixture.store.get('t1/line-1.wav');
    expect(sha256(await readObject(object))).toBe(sha256(WAV));
  });

  it('stores an MP3 (lame) and reads its format', async () => {
    const archived = await archiveFromUrl(
      fixture.store,
      't1/line-2.mp3',
      server.url('/speech.mp3'),
      options(),
    );
    expect(archived).toMatchObject({
      sha256: sha256(MP3),
      bytes: MP3.length,
      format: 'mp3',
      contentType: 'audio/mpeg',
      sampleRate: 16_000,
      channels: 1,
    });
    // lame pads the stream by a frame or two.
    expect(Math.abs(archived.durationMs - 12_000)).toBeLessThan(150);
  });

  it('refuses a file over the cap, announced or not, and keeps nothing', async () => {
    for (const path of ['/too-long', '/too-long-unannounced']) {
      const attempt = archiveFromUrl(fixture.store, 't1/too-long.wav', server.url(path), options());
      await expect(attempt, path).rejects.toMatchObject({ code: 'TOO_LARGE', retryable: false });
      expect(await fixture.store.head('t1/too-long.wav'), path).toBeNull();
    }
  });

  it('deletes what it stored when the file is not audio', async () => {
    const attempt = archiveFromUrl(
      fixture.store,
      't1/html.wav',
      server.url('/not-audio'),
      options(),
    );
    await expect(attempt).rejects.toMatchObject({ code: 'UNREADABLE_AUDIO', retryable: false });
    expect(await fixture.store.head('t1/html.wav')).toBeNull();
  });
});

describe('archiveFromUrl', () => {
  let fixture: Awaited<ReturnType<typeof fileStoreFixture>>;
  beforeAll(async () => {
    fixture = await fileStoreFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('follows a redirect, through a dispatcher shared across downloads', async () => {
    const dispatcher = createArchiveDispatcher({ guard: LOOPBACK, connectTimeoutMs: 2_000 });
    try {
      for (const key of ['a.wav', 'b.wav']) {
        const archived = await archiveFromUrl(
          fixture.store,
          key,
          server.url('/redirect'),
          options({ dispatcher }),
        );
        expect(archived.sha256).toBe(sha256(WAV));
      }
    } finally {
      await dispatcher.close();
    }
  });

  it('gives up on a download that stalls, within its total timeout, and leaves no temp file', async () => {
    for (const path of ['/stalls-mid-body', '/never-answers']) {
      const started = Date.now();
      const attempt = archiveFromUrl(
        fixture.store,
        'stalled.wav',
        server.url(path),
        options({ timeoutMs: 500 }),
      );
      await expect(attempt, path).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
      expect(Date.now() - started, path).toBeLessThan(5_000);
      expect(await fixture.store.head('stalled.wav'), path).toBeNull();
    }
    expect(await readdir(join(fixture.root, '.tmp'))).toEqual([]);
  });

  it('refuses a private address before sending anything', async () => {
    const before = server.requests.length;
    const attempt = archiveFromUrl(
      fixture.store,
      'ssrf.wav',
      server.url('/speech.wav'),
      options({ guard: guard([]) }),
    );
    await expect(attempt).rejects.toMatchObject({ code: 'UNSAFE_TARGET', retryable: false });
    expect(server.requests.length).toBe(before);
    expect(await fixture.store.head('ssrf.wav')).toBeNull();
  });

  it('checks every redirect: an allowed host sending it to a private address is refused', async () => {
    const port = new URL(server.url('/')).port;
    const hop = await startHttpServer({
      '/hop': (_req, res) => res.writeHead(307, { location: server.url('/speech.wav') }).end(),
    });
    try {
      const before = server.requests.length;
      // Only the host name is allowlisted: the redirect's 127.0.0.1 literal is not.
      const viaName = hop.url('/hop').replace('127.0.0.1', 'localhost');
      const attempt = archiveFromUrl(
        fixture.store,
        'hop.wav',
        viaName,
        options({ guard: guard(['localhost']) }),
      );
      await expect(attempt).rejects.toMatchObject({ code: 'UNSAFE_TARGET' });
      expect(hop.requests).toEqual(['/hop']);
      expect(server.requests.length, `nothing reached port ${port}`).toBe(before);
    } finally {
      await hop.close();
    }
  });

  it('says which HTTP failures a retry can get past', async () => {
    await expect(
      archiveFromUrl(fixture.store, 'x.wav', server.url('/gone'), options()),
    ).rejects.toMatchObject({
      code: 'HTTP_404',
      retryable: false,
    });
    await expect(
      archiveFromUrl(fixture.store, 'x.wav', server.url('/busy'), options()),
    ).rejects.toMatchObject({
      code: 'HTTP_503',
      retryable: true,
    });
  });

  it('calls a refused connection a network failure worth retrying', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/speech.wav`;
    await expect(archiveFromUrl(fixture.store, 'x.wav', closed, options())).rejects.toMatchObject({
      code: 'NETWORK',
      retryable: true,
    });
  });

  it('never shows a signed link’s query string in its errors', async () => {
    const signed = `${server.url('/gone')}?X-Amz-Signature=secret-signature&token=abc`;
    const error = await archiveFromUrl(fixture.store, 'x.wav', signed, options()).catch(
      (e: Error) => e,
    );
    expect(String(error)).not.toContain('secret-signature');
    expect(error).toMatchObject({ url: server.url('/gone') });
  });
});

describe('archiveFromUrl stopped by its caller', () => {
  it('passes the caller’s abort through as it is, not as a download failure', async () => {
    const fixture = await fileStoreFixture();
    try {
      const controller = new AbortController();
      const attempt = archiveFromUrl(fixture.store, 'aborted.wav', server.url('/stalls-mid-body'), {
        ...options(),
        signal: controller.signal,
      });
      await waitFor('the download to start', () => server.requests.at(-1) === '/stalls-mid-body');
      controller.abort();
      const error = await attempt.catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(ArchiveError);
      expect(error).toMatchObject({ name: 'AbortError' });
      expect(await fixture.store.head('aborted.wav')).toBeNull();
    } finally {
      await fixture.close();
    }
  });
});

describe('archiveFromUrl given a bad key', () => {
  it('throws InvalidKeyError before sending anything', async () => {
    const fixture = await fileStoreFixture();
    try {
      const before = server.requests.length;
      await expect(
        archiveFromUrl(fixture.store, '../x.wav', server.url('/speech.wav'), options()),
      ).rejects.toBeInstanceOf(InvalidKeyError);
      expect(server.requests.length).toBe(before);
    } finally {
      await fixture.close();
    }
  });
});
