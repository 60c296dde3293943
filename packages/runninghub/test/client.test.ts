import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  KNOWN_UPSTREAM_CODES,
  PATHS,
  type RequestInfo,
  RunningHubClient,
  RunningHubError,
  type VoiceCloneParams,
} from '../src/index.js';
import { closedPort, type FakeUpstream, sendJson, startFakeUpstream } from './fake-upstream.js';

const KEY = 'rh-secret-key-0123456789abcdef';
const BIG_ID = '2013508786110730241';
const params: VoiceCloneParams = {
  audio: 'https://example.com/ref.wav',
  custom_voice_id: 'narrator01',
  text: 'Hello there.',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd',
};
const running = {
  taskId: BIG_ID,
  status: 'RUNNING',
  errorCode: '',
  errorMessage: '',
  results: null,
  clientId: 'f828b9af25161bc066ef152db7b29ccc',
  promptTips: '{"result": true, "error": null, "outputs_to_execute": ["4"], "node_errors": {}}',
};

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

function makeClient(over: { requestTimeoutMs?: number; baseUrl?: string } = {}) {
  seen = [];
  const client = new RunningHubClient({
    baseUrl: over.baseUrl ?? upstream.url,
    apiKey: KEY,
    requestTimeoutMs: over.requestTimeoutMs ?? 2_000,
    connectTimeoutMs: 1_000,
    onRequest: (info) => seen.push(info),
  });
  clients.push(client);
  return client;
}

async function caught(promise: Promise<unknown>): Promise<RunningHubError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunningHubError);
  const e = error as RunningHubError;
  expect(e.message).not.toContain(KEY);
  expect(JSON.stringify(e.raw ?? null)).not.toContain(KEY);
  return e;
}

describe('submitVoiceClone', () => {
  it('sends the contract request and returns the task with its id as a string', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, running));
    const task = await makeClient().submitVoiceClone({ ...params, accuracy: 0.8 });
    const req = upstream.requests.at(-1);
    expect(req?.path).toBe(PATHS.submit);
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body.toString() ?? '')).toEqual({ ...params, accuracy: 0.8 });
    expect(task).toMatchObject({ taskId: BIG_ID, status: 'RUNNING', terminal: false, audio: null });
    expect(task.raw).toEqual(running);
    expect(seen).toEqual([
      expect.objectContaining({ endpoint: 'submit', httpStatus: 200, outcome: 'ok' }),
    ]);
  });

  it('keeps a bare numeric taskId above 2^53 exact', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, `{"taskId": ${BIG_ID}, "status": "QUEUED", "errorCode": ""}`),
    );
    const task = await makeClient().submitVoiceClone(params);
    expect(task.taskId).toBe(BIG_ID);
    expect((task.raw as { taskId: unknown }).taskId).toBe(BIG_ID);
  });

  it('reports a submit that is already SUCCESS as terminal, with its audio and usage', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, {
        ...running,
        status: 'SUCCESS',
        results: [{ outputUrl: 'https://cdn.example.com/a/out.mp3', outputType: 'mp3' }],
        usage: { consumeMoney: '3.12', taskCostTime: 9 },
      }),
    );
    const task = await makeClient().submitVoiceClone(params);
    expect(task.terminal).toBe(true);
    expect(task.audio).toEqual({ url: 'https://cdn.example.com/a/out.mp3', type: 'mp3' });
    expect(task.usage).toMatchObject({ consumeMoney: '3.12', taskCostTime: '9' });
  });

  // Every row of the contract's error table, as an HTTP 200 with an errorCode.
  for (const code of [...KNOWN_UPSTREAM_CODES, '7777']) {
    it(`throws a classified error for errorCode ${code}`, async () => {
      upstream.handle((_req, res) =>
        sendJson(res, 200, {
          taskId: '',
          status: '',
          errorCode: Number(code),
          errorMessage: `message ${code}`,
        }),
      );
      const e = await caught(makeClient().submitVoiceClone(params));
      expect(e.code).toBe(code);
      expect(e.httpStatus).toBe(200);
      expect(e.endpoint).toBe('submit');
      expect(e.upstreamMessage).toBe(`message ${code}`);
      const expected = code === '7777' ? 'retryable' : undefined;
      if (expected) expect(e.kind).toBe(expected);
      expect(seen[0]).toMatchObject({ outcome: e.kind, errorCode: code });
    });
  }

  it('classifies concurrency full as back-pressure without a delay', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, { taskId: '', errorCode: '421', errorMessage: 'TASK_QUEUE_MAXED' }),
    );
    const e = await caught(makeClient().submitVoiceClone(params));
    expect(e).toMatchObject({
      kind: 'backpressure',
      retryAfterMs: null,
      reason: expect.any(String),
    });
    expect(e.message).toContain('TASK_QUEUE_MAXED');
  });

  it('fails a submit that answers FAILED without a code, and one without a taskId', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, { ...running, status: 'FAILED' }));
    expect((await caught(makeClient().submitVoiceClone(params))).kind).toBe('retryable');
    upstream.handle((_req, res) => sendJson(res, 200, { ...running, taskId: '' }));
    expect((await caught(makeClient().submitVoiceClone(params))).code).toBe('MALFORMED_RESPONSE');
  });
});

describe('transport and HTTP failures', () => {
  it('honours retry-after on HTTP 429, in seconds or as a date', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 429, { message: 'slow down' }, { 'retry-after': '7' }),
    );
    const e = await caught(makeClient().submitVoiceClone(params));
    expect(e).toMatchObject({
      kind: 'retryable',
      code: 'HTTP_429',
      httpStatus: 429,
      retryAfterMs: 7000,
    });

    const at = new Date(Date.now() + 20_000).toUTCString();
    upstream.handle((_req, res) => sendJson(res, 429, 'busy', { 'retry-after': at }));
    const dated = await caught(makeClient().queryTask(BIG_ID));
    expect(dated.retryAfterMs).toBeGreaterThan(15_000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(20_000);
  });

  for (const status of [500, 502, 503]) {
    it(`retries HTTP ${status}`, async () => {
      upstream.handle((_req, res) =>
        res.writeHead(status, { 'content-type': 'text/html' }).end('<html>down</html>'),
      );
      const e = await caught(makeClient().queryTask(BIG_ID));
      expect(e).toMatchObject({ kind: 'retryable', code: `HTTP_${status}`, httpStatus: status });
      expect(e.raw).toBe('<html>down</html>');
      const submitted = await caught(makeClient().submitVoiceClone(params));
      expect(submitted.ambiguous).toBe(status === 502);
      expect(seen[0]).toMatchObject({ httpStatus: status, outcome: 'retryable' });
    });
  }

  for (const [status, alert] of [
    [400, false],
    [401, true],
    [403, true],
  ] as const) {
    it(`never retries HTTP ${status}`, async () => {
      upstream.handle((_req, res) => sendJson(res, status, { errorCode: '9', errorMessage: 'no' }));
      const e = await caught(makeClient().submitVoiceClone(params));
      expect(e).toMatchObject({ kind: 'fatal', code: `HTTP_${status}`, alertOperator: alert });
      expect(e.message).toContain('upstream code 9');
    });
  }

  it('does not follow redirects', async () => {
    upstream.handle((_req, res) => res.writeHead(302, { location: 'http://evil.test/' }).end());
    const e = await caught(makeClient().submitVoiceClone(params));
    expect(e).toMatchObject({ kind: 'fatal', httpStatus: 302, alertOperator: true });
    expect(upstream.requests.at(-1)?.path).toBe(PATHS.submit);
  });

  it('retries a refused connection, which cannot have submitted anything', async () => {
    const port = await closedPort();
    const refused = makeClient({ baseUrl: `http://127.0.0.1:${port}` });
    const submitError = await caught(refused.submitVoiceClone(params));
    expect(submitError).toMatchObject({ kind: 'retryable', code: 'NETWORK', ambiguous: false });
    const e = await caught(makeClient({ baseUrl: `http://127.0.0.1:${port}` }).queryTask(BIG_ID));
    expect(e).toMatchObject({ kind: 'retryable', code: 'NETWORK', httpStatus: null });
    expect(e.reason).toContain('ECONNREFUSED');
    expect(seen[0]).toMatchObject({ httpStatus: null, outcome: 'retryable', errorCode: 'NETWORK' });
  });

  it('gives up on a response slower than the request timeout', async () => {
    const timers: NodeJS.Timeout[] = [];
    upstream.handle((_req, res) => {
      timers.push(setTimeout(() => sendJson(res, 200, running), 2_000));
    });
    const started = Date.now();
    const e = await caught(makeClient({ requestTimeoutMs: 150 }).submitVoiceClone(params));
    const elapsed = Date.now() - started;
    for (const t of timers) clearTimeout(t);
    // The request reached upstream: a task may exist although we have no id.
    expect(e).toMatchObject({ kind: 'retryable', code: 'TIMEOUT', ambiguous: true });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('gives up on a body that stalls after the headers', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"taskId":"1",');
    });
    const e = await caught(makeClient({ requestTimeoutMs: 150 }).queryTask('1'));
    expect(e.code).toBe('TIMEOUT');
  });

  it('retries malformed and truncated JSON, keeping the text', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, '<html>oops</html>'));
    const malformed = await caught(makeClient().queryTask(BIG_ID));
    expect(malformed).toMatchObject({
      kind: 'retryable',
      code: 'MALFORMED_RESPONSE',
      httpStatus: 200,
    });
    expect(malformed.raw).toBe('<html>oops</html>');

    const full = JSON.stringify(running);
    upstream.handle((_req, res) => sendJson(res, 200, full.slice(0, 40)));
    const truncated = await caught(makeClient().queryTask(BIG_ID));
    expect(truncated).toMatchObject({ kind: 'retryable', code: 'MALFORMED_RESPONSE' });
    expect(truncated.reason).toContain('truncated');
    expect(truncated.ambiguous).toBe(false);
    const submitted = await caught(makeClient().submitVoiceClone(params));
    expect(submitted).toMatchObject({ code: 'MALFORMED_RESPONSE', ambiguous: true });

    upstream.handle((_req, res) => sendJson(res, 200, '[1,2]'));
    expect((await caught(makeClient().queryTask(BIG_ID))).code).toBe('MALFORMED_RESPONSE');
  });
});

describe('queryTask', () => {
  it('returns FAILED and CANCEL tasks as data', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, { ...running, status: 'FAILED', errorCode: 2039, errorMessage: 'dup' }),
    );
    const failed = await makeClient().queryTask(BIG_ID);
    expect(failed).toMatchObject({ status: 'FAILED', terminal: true, errorCode: '2039' });
    expect(JSON.parse(upstream.requests.at(-1)?.body.toString() ?? '')).toEqual({ taskId: BIG_ID });

    upstream.handle((_req, res) => sendJson(res, 200, { ...running, status: 'CANCEL' }));
    expect(await makeClient().queryTask(BIG_ID)).toMatchObject({
      status: 'CANCEL',
      terminal: true,
    });
  });

  it('throws taskLost for an unknown or expired task (1004, its id echoed)', async () => {
    const notFound = {
      taskId: BIG_ID,
      status: '',
      errorCode: '1004',
      errorMessage: 'Task not found or expired',
      results: null,
      failedReason: {},
      usage: null,
    };
    upstream.handle((_req, res) => sendJson(res, 200, notFound));
    const e = await caught(makeClient().queryTask(BIG_ID));
    expect(e).toMatchObject({ kind: 'fatal', code: '1004', endpoint: 'query', taskLost: true });
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({
      reason: 'task not found or expired',
      upstreamMessage: 'Task not found or expired',
      taskLost: true,
      raw: notFound,
    });
  });

  it('throws taskLost for an id upstream cannot read (1007, taskId "")', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, { taskId: '', status: '', errorCode: 1007, errorMessage: 'bad body' }),
    );
    const e = await caught(makeClient().queryTask(BIG_ID));
    expect(e).toMatchObject({ kind: 'fatal', code: '1007', taskLost: true });
  });

  it('does not call a failed submit or another query error a lost task', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, { taskId: '', status: '', errorCode: '1007', errorMessage: 'bad' }),
    );
    const submit = await caught(makeClient().submitVoiceClone(params));
    expect(submit).toMatchObject({ kind: 'fatal', code: '1007', taskLost: false });
    upstream.handle((_req, res) => sendJson(res, 200, { ...running, errorCode: '1003' }));
    expect(await caught(makeClient().queryTask(BIG_ID))).toMatchObject({ taskLost: false });
  });

  it('throws for a request-level code on a task still running', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, { ...running, errorCode: '1003' }));
    expect((await caught(makeClient().queryTask(BIG_ID))).kind).toBe('retryable');
  });

  it('tolerates unknown statuses and extra fields, and picks the audio url', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, { ...running, status: 'PREPARING', extra: { a: 1 } }),
    );
    const odd = await makeClient().queryTask(BIG_ID);
    expect(odd).toMatchObject({ status: 'PREPARING', terminal: false });
    expect((odd.raw as { extra: unknown }).extra).toEqual({ a: 1 });

    upstream.handle((_req, res) =>
      sendJson(res, 200, {
        ...running,
        status: 'SUCCESS',
        results: [
          { text: 'log', nodeId: 3 },
          { url: 'https://cdn.example.com/x.wav?sig=1', outputUrl: 'https://other/y.mp3' },
        ],
      }),
    );
    const done = await makeClient().queryTask(BIG_ID);
    expect(done.audio).toEqual({ url: 'https://cdn.example.com/x.wav?sig=1', type: 'wav' });
    expect(done.results[0]?.nodeId).toBe('3');
  });

  it('refuses an answer about another task', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, { ...running, taskId: '1' }));
    expect((await caught(makeClient().queryTask(BIG_ID))).code).toBe('MALFORMED_RESPONSE');
  });
});

describe('uploadMedia', () => {
  it('posts multipart field "file" and returns the download url', async () => {
    upstream.handle((_req, res) =>
      sendJson(res, 200, {
        code: 0,
        message: 'success',
        data: {
          download_url: 'https://cdn.example.com/u/ref.wav',
          type: 'audio',
          size: '4',
          fileName: 'api/ref.wav',
        },
      }),
    );
    const result = await makeClient().uploadMedia(new Uint8Array([1, 2, 3, 4]), 'ref.wav');
    expect(result).toMatchObject({
      downloadUrl: 'https://cdn.example.com/u/ref.wav',
      type: 'audio',
      size: 4,
      fileName: 'api/ref.wav',
    });
    const req = upstream.requests.at(-1);
    expect(req?.path).toBe(PATHS.upload);
    expect(req?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const body = req?.body.toString('latin1') ?? '';
    expect(body).toContain('name="file"; filename="ref.wav"');
    expect(body).toContain('Content-Type: audio/wav');
  });

  it('classifies a non-zero code', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, { code: 802, message: 'APIKEY_INVALID' }));
    const e = await caught(makeClient().uploadMedia(new Uint8Array([1]), 'a.mp3'));
    expect(e).toMatchObject({
      kind: 'fatal',
      code: '802',
      alertOperator: true,
      endpoint: 'upload',
    });
  });
});

describe('cancelTask', () => {
  it('is true only when upstream confirms, and never throws', async () => {
    upstream.handle((_req, res) => sendJson(res, 200, { code: 0, msg: 'success', data: null }));
    expect(await makeClient().cancelTask(BIG_ID)).toBe(true);
    const req = upstream.requests.at(-1);
    expect(req?.path).toBe(PATHS.cancel);
    expect(JSON.parse(req?.body.toString() ?? '')).toEqual({ apiKey: KEY, taskId: BIG_ID });

    upstream.handle((_req, res) => sendJson(res, 200, { code: 1007, msg: 'no' }));
    expect(await makeClient().cancelTask(BIG_ID)).toBe(false);
    upstream.handle((_req, res) => res.writeHead(500).end());
    expect(await makeClient().cancelTask(BIG_ID)).toBe(false);
    const port = await closedPort();
    expect(await makeClient({ baseUrl: `http://127.0.0.1:${port}` }).cancelTask(BIG_ID)).toBe(
      false,
    );
  });
});

describe('secrets', () => {
  it('never lets the key reach an error or raw, even when upstream echoes it', async () => {
    upstream.handle((req, res) =>
      sendJson(res, 200, { code: 1, msg: `bad key ${KEY}`, echo: req.body.toString() }),
    );
    const e = await caught(makeClient().uploadMedia(new Uint8Array([1]), 'a.wav'));
    expect(e.message).toContain('[redacted]');
    upstream.handle((req, res) =>
      sendJson(res, 500, { errorMessage: `key=${KEY}`, h: req.headers.authorization }),
    );
    const http = await caught(makeClient().queryTask(BIG_ID));
    expect(http.message).toContain('[redacted]');
  });

  it('refuses other schemes, credentials in the URL and an empty key', () => {
    expect(() => new RunningHubClient({ baseUrl: 'ftp://x', apiKey: KEY })).toThrow(/https/);
    expect(() => new RunningHubClient({ baseUrl: 'https://u:p@x', apiKey: KEY })).toThrow(
      /credentials/,
    );
    expect(() => new RunningHubClient({ baseUrl: 'https://x', apiKey: '' })).toThrow(/apiKey/);
  });

  it('talks https to a bare host', async () => {
    // Nothing speaks TLS on this port: a plain-http fallback would have been answered.
    upstream.handle((_req, res) => sendJson(res, 200, running));
    const host = new URL(upstream.url).host;
    const before = upstream.requests.length;
    const e = await caught(makeClient({ baseUrl: host }).queryTask(BIG_ID));
    expect(e.code).toBe('NETWORK');
    expect(upstream.requests.length).toBe(before);
  });
});
