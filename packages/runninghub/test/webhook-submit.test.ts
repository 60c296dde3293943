import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PATHS,
  type RequestInfo,
  RunningHubClient,
  RunningHubError,
  type SpeechParams,
  speechPath,
  type VoiceCloneParams,
} from '../src/index.js';
import { type FakeUpstream, sendJson, startFakeUpstream } from './fake-upstream.js';

const KEY = 'rh-secret-key-0123456789abcdef';
const BIG_ID = '2013508786110730241';
const HOOK = 'https://voxline.example/callbacks/runninghub/tok3n';
const clone: VoiceCloneParams = {
  audio: 'https://example.com/ref.wav',
  custom_voice_id: 'narrator01',
  text: 'Hello there.',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd',
};
const line: SpeechParams = { model: 'speech-2.6-turbo', text: 'Hello there.', voice_id: 'vx0001' };
const running = { taskId: BIG_ID, status: 'RUNNING', errorCode: '', errorMessage: '' };

let upstream: FakeUpstream;
let client: RunningHubClient;
let seen: RequestInfo[];

beforeAll(async () => {
  upstream = await startFakeUpstream((_req, res) => sendJson(res, 200, running));
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await client?.close();
});

function makeClient() {
  seen = [];
  client = new RunningHubClient({
    baseUrl: upstream.url,
    apiKey: KEY,
    requestTimeoutMs: 2_000,
    onRequest: (info) => seen.push(info),
  });
  return client;
}

const lastBody = () => JSON.parse(upstream.requests.at(-1)?.body.toString() ?? '') as unknown;

describe('submits with a webhookUrl', () => {
  it('adds webhookUrl to a voice clone and to a speech submit', async () => {
    const c = makeClient();
    expect((await c.submitVoiceClone(clone, { webhookUrl: HOOK })).taskId).toBe(BIG_ID);
    expect(upstream.requests.at(-1)?.path).toBe(PATHS.submit);
    expect(lastBody()).toEqual({ ...clone, webhookUrl: HOOK });

    expect((await c.submitSpeech(line, { webhookUrl: HOOK })).taskId).toBe(BIG_ID);
    expect(upstream.requests.at(-1)?.path).toBe(speechPath(line.model));
    expect(lastBody()).toMatchObject({ text: line.text, voice_id: 'vx0001', webhookUrl: HOOK });
  });

  it('leaves the field out without one', async () => {
    const c = makeClient();
    await c.submitVoiceClone(clone);
    expect(lastBody()).not.toHaveProperty('webhookUrl');
    await c.submitSpeech(line, {});
    expect(lastBody()).not.toHaveProperty('webhookUrl');
  });

  it('refuses an address that is not http(s) before sending anything', async () => {
    const c = makeClient();
    const before = upstream.requests.length;
    for (const webhookUrl of ['', 'not a url', 'ftp://voxline.example/cb', 'file:///etc/passwd']) {
      const error = await c.submitSpeech(line, { webhookUrl }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunningHubError);
      expect(error).toMatchObject({ kind: 'fatal', endpoint: 'speech', ambiguous: false });
      expect((error as Error).message).toContain('webhookUrl');
    }
    expect(upstream.requests.length).toBe(before);
    expect(seen).toEqual([]);
  });
});
