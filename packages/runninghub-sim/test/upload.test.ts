import { RunningHubClient, RunningHubError } from '@voxline/runninghub';
import { afterEach, describe, expect, it } from 'vitest';
import { renderWav, type SimulatorHandle } from '../src/index.js';
import { KEY, startWithClock } from './helpers.js';

let sim: SimulatorHandle;
let client: RunningHubClient;
afterEach(async () => {
  await client?.close();
  await sim?.close();
});

async function start(over: Parameters<typeof startWithClock>[0] = {}) {
  ({ sim } = await startWithClock(over));
  client = new RunningHubClient({ baseUrl: sim.url, apiKey: KEY, requestTimeoutMs: 5_000 });
}

describe('media upload', () => {
  it('stores a WAV and serves it back at its download_url', async () => {
    await start();
    const wav = renderWav('1234', 40);
    const result = await client.uploadMedia(wav, 'reference.wav');
    expect(result.downloadUrl).toMatch(new RegExp(`^${sim.url}/media/[0-9a-f]{32}\\.wav$`));
    expect(result).toMatchObject({ type: 'audio', size: wav.length });
    const res = await fetch(result.downloadUrl);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await res.arrayBuffer()).equals(wav)).toBe(true);
    expect(sim.stats().uploads).toBe(1);
  });

  it('accepts MP3 and refuses other files', async () => {
    await start();
    const mp3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(100, 1)]);
    expect((await client.uploadMedia(mp3, 'ref.mp3')).downloadUrl).toMatch(/\.mp3$/);
    const error = await client
      .uploadMedia(Buffer.from('%PDF-1.7'), 'doc.pdf')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunningHubError);
    expect(error).toMatchObject({ kind: 'fatal', code: '301', endpoint: 'upload' });
    expect((error as Error).message).toContain('MP3 or WAV');
  });

  it('refuses a file over the size limit', async () => {
    await start({ maxUploadBytes: 64 * 1024 });
    const big = renderWav('1', 100); // 6 s at 16 kHz: about 190 kB
    const error = await client.uploadMedia(big, 'big.wav').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'fatal', code: '301' });
    expect((error as Error).message).toContain('FILE_TOO_LARGE');
  });

  it('keeps the uploaded bytes bounded, dropping the oldest', async () => {
    await start({ maxStoredUploadBytes: 40_000 });
    const first = await client.uploadMedia(renderWav('a', 20), 'a.wav'); // about 38 kB
    const second = await client.uploadMedia(renderWav('b', 20), 'b.wav');
    expect((await fetch(first.downloadUrl)).status).toBe(404);
    expect((await fetch(second.downloadUrl)).status).toBe(200);
  });
});
