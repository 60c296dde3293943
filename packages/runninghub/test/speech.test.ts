import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  actualCost,
  errorFromFailedTask,
  type RequestInfo,
  RunningHubClient,
  type RunningHubClientOptions,
  RunningHubError,
  SPEECH_MODELS,
  type SpeechParams,
  speechPath,
} from '../src/index.js';
import { type FakeUpstream, sendJson, startFakeUpstream } from './fake-upstream.js';

const KEY = 'rh-secret-key-0123456789abcdef';
const BIG_ID = '2013508786110730241';
const line: SpeechParams = { model: 'speech-02-hd', text: 'Hello there.', voice_id: 'vx0001' };
const running = { taskId: BIG_ID, status: 'RUNNING', errorCode: '', errorMessage: '' };

let upstream: FakeUpstream;
let clients: RunningHubClient[] = [];
let seen: RequestInfo[];

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

function makeClient(over: Partial<RunningHubClientOptions> = {}) {
  seen = [];
  const client = new RunningHubClient({
    baseUrl: upstream.url,
    apiKey: KEY,
    requestTimeoutMs: 2_000,
    onRequest: (info) => seen.push(info),
    ...over,
  });
  clients.push(client);
  return client;
}

function lastBody(): Record<string, unknown> {
  return JSON.parse(upstream.requests.at(-1)?.body.toString() ?? '') as Record<string, unknown>;
}

async function caught(promise: Promise<unknown>): Promise<RunningHubError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunningHubError);
  return error as RunningHubError;
}

describe('submitSpeech', () => {
  it('sends the required flags and leaves unset settings out', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, running));
    const task = await makeClient().submitSpeech(line);
    expect(task).toMatchObject({ taskId: BIG_ID, status: 'RUNNING', terminal: false });
    expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    // The model is the path, not a field; the two flags are always sent.
    expect(lastBody()).toEqual({
      text: 'Hello there.',
      voice_id: 'vx0001',
      enable_base64_output: false,
      english_normalization: false,
    });
    expect(seen).toEqual([
      expect.objectContaining({ endpoint: 'speech', httpStatus: 200, outcome: 'ok' }),
    ]);
  });

  it('sends every setting given, as JSON numbers, booleans and lists', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, running));
    await makeClient().submitSpeech({
      ...line,
      speed: 1.25,
      volume: 2,
      pitch: -3,
      emotion: 'sad',
      pronunciation_dict: ['ASAP/As soon as possible'],
      english_normalization: true,
    });
    expect(lastBody()).toEqual({
      text: 'Hello there.',
      voice_id: 'vx0001',
      enable_base64_output: false,
      english_normalization: true,
      speed: 1.25,
      volume: 2,
      pitch: -3,
      emotion: 'sad',
      pronunciation_dict: ['ASAP/As soon as possible'],
    });
  });

  it('posts to the endpoint of each model', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, running));
    const client = makeClient();
    for (const model of SPEECH_MODELS) {
      await client.submitSpeech({ ...line, model });
      expect(upstream.requests.at(-1)?.path).toBe(speechPath(model));
    }
    expect(speechPath('speech-2.8-turbo')).toBe(
      '/openapi/v2/rhart-audio/text-to-audio/speech-2.8-turbo',
    );
  });

  it('returns a submit that is already SUCCESS as terminal', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, {
        ...running,
        status: 'SUCCESS',
        results: [{ url: 'https://cdn.example.com/a/line.mp3', outputType: 'mp3' }],
        usage: { consumeMoney: '0.00372' },
      }),
    );
    const task = await makeClient().submitSpeech(line);
    expect(task).toMatchObject({ terminal: true, status: 'SUCCESS' });
    expect(task.audio).toEqual({ url: 'https://cdn.example.com/a/line.mp3', type: 'mp3' });
    expect(actualCost(task.usage?.consumeMoney)).toBe(0.00372);
  });

  it('classifies codes as the voice-clone submit does, and flags no voice', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, { taskId: '', errorCode: '421', errorMessage: 'TASK_QUEUE_MAXED' }),
    );
    const full = await caught(makeClient().submitSpeech(line));
    expect(full).toMatchObject({ kind: 'backpressure', code: '421', endpoint: 'speech' });
    expect(full.voiceMissing).toBe(false);
    upstream.handle((_req, res) => sendJson(res, 200, { ...running, taskId: '' }));
    expect(await caught(makeClient().submitSpeech(line))).toMatchObject({
      code: 'MALFORMED_RESPONSE',
      ambiguous: true,
    });
    upstream.handle((_req, res) => sendJson(res, 200, { ...running, status: 'CANCEL' }));
    expect((await caught(makeClient().submitSpeech(line))).kind).toBe('fatal');
  });
});

describe('a voice upstream does not have', () => {
  it('is voiceMissing and fatal by its code on submit (2054 by default)', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, { taskId: '', status: '', errorCode: 2054, errorMessage: 'nope' }),
    );
    const e = await caught(makeClient().submitSpeech(line));
    expect(e).toMatchObject({
      kind: 'fatal',
      code: '2054',
      voiceMissing: true,
      endpoint: 'speech',
    });
    expect(e.retryable).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({ voiceMissing: true, code: '2054' });
    expect(seen[0]).toMatchObject({ outcome: 'fatal', errorCode: '2054' });
  });

  it('is voiceMissing by the message whatever the code, and by configured codes', async () => {
    for (const message of ['voice id not exist', 'Voice_ID does not exist', 'voiceid not exist']) {
      upstream.handle((_req, res) =>
        sendJson(res, 200, { taskId: '', errorCode: '1005', errorMessage: message }),
      );
      expect(await caught(makeClient().submitSpeech(line))).toMatchObject({
        kind: 'fatal',
        code: '1005',
        voiceMissing: true,
      });
    }
    upstream.handle((_req, res) =>
      sendJson(res, 200, { taskId: '', errorCode: '40404', errorMessage: 'unknown' }),
    );
    expect((await caught(makeClient().submitSpeech(line))).voiceMissing).toBe(false);
    const configured = makeClient({ voiceMissingCodes: ['40404'] });
    expect(await caught(configured.submitSpeech(line))).toMatchObject({
      kind: 'fatal',
      voiceMissing: true,
    });
  });

  it('is voiceMissing when the submit answers FAILED, and in an HTTP error body', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, {
        ...running,
        status: 'FAILED',
        errorCode: '2054',
        errorMessage: 'voice id not exist',
      }),
    );
    expect(await caught(makeClient().submitSpeech(line))).toMatchObject({
      kind: 'fatal',
      voiceMissing: true,
      endpoint: 'speech',
    });
    upstream.handle((_req, res) =>
      sendJson(res, 400, { errorCode: '2054', errorMessage: 'voice id not exist' }),
    );
    expect(await caught(makeClient().submitSpeech(line))).toMatchObject({
      code: 'HTTP_400',
      voiceMissing: true,
      ambiguous: false,
    });
  });

  it('is voiceMissing on a FAILED query, through failureOf with the client codes', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, {
        ...running,
        status: 'FAILED',
        errorCode: '777',
        errorMessage: 'gone',
        failedReason: { exception_message: 'gone' },
      }),
    );
    const client = makeClient({ voiceMissingCodes: ['777'] });
    const task = await client.queryTask(BIG_ID);
    expect(task).toMatchObject({ status: 'FAILED', errorCode: '777' });
    expect(client.failureOf(task)).toMatchObject({
      kind: 'fatal',
      code: '777',
      voiceMissing: true,
      endpoint: 'query',
    });
    // The default list does not know 777: an unknown code stays retryable.
    expect(errorFromFailedTask(task)).toMatchObject({ kind: 'retryable', voiceMissing: false });
    expect(makeClient().failureOf(task).voiceMissing).toBe(false);

    upstream.handle((_req, res) =>
      sendJson(res, 200, {
        ...running,
        status: 'FAILED',
        errorCode: '',
        failedReason: { exception_message: 'voice id not exist' },
      }),
    );
    const byReason = await makeClient().queryTask(BIG_ID);
    expect(makeClient().failureOf(byReason)).toMatchObject({
      kind: 'fatal',
      code: null,
      voiceMissing: true,
    });
  });
});

describe('usage of a speech task', () => {
  it('tolerates consumeMoney null, absent or a number', async () => {
    const done = { ...running, status: 'SUCCESS', results: [{ url: 'https://c.example/x.wav' }] };
    const cases: Array<[unknown, string | null, number | null]> = [
      [{ consumeMoney: null }, null, null],
      [{ taskCostTime: '3' }, null, null],
      [null, null, null],
      [{ consumeMoney: 0.031 }, '0.031', 0.031],
      [{ consumeMoney: '0.031' }, '0.031', 0.031],
      [{ consumeMoney: { amount: 1 } }, null, null],
    ];
    for (const [usage, money, cost] of cases) {
      upstream.handle((_req, res) => sendJson(res, 200, { ...done, usage }));
      const task = await makeClient().queryTask(BIG_ID);
      expect(task.terminal).toBe(true);
      expect(task.usage?.consumeMoney ?? null).toBe(money);
      expect(actualCost(task.usage?.consumeMoney)).toBe(cost);
    }
    upstream.handle((_req, res) => sendJson(res, 200, done));
    expect((await makeClient().queryTask(BIG_ID)).usage).toBeNull();
  });
});
