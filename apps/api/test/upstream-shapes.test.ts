import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { insertTaskAudio } from '@voxline/db';
import { RunningHubClient } from '@voxline/runninghub';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, AUDIO_URL, startApi } from './harness.js';

/**
 * Upstream answers of a succeeded task in the shapes RunningHub is seen to use (fields left
 * out or null, numbers as strings or as numbers, extra fields, results with `url` or only
 * `outputUrl`, odd `outputType`), taken through the real path: the client parses the answer
 * over HTTP, the worker's repo function stores it in Postgres, and the API serialises it.
 */

const USAGE_FIELDS = ['consumeMoney', 'consumeCoins', 'taskCostTime', 'thirdPartyConsumeMoney'];

const extraFields = fc.dictionary(fc.stringMatching(/^x[A-Za-z0-9_]{0,10}$/), fc.jsonValue(), {
  maxKeys: 3,
});
const withExtras = <T extends object>(arb: fc.Arbitrary<T>) =>
  fc.tuple(arb, extraFields).map(([value, extras]) => ({ ...extras, ...value }));

const number = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const usageValue = fc.oneof(
  fc.constant(null),
  number,
  number.map(String),
  fc.constantFrom('', '3.12', '0.031', ' 7 '),
  fc.string({ maxLength: 12 }),
  // Not a shape seen upstream; a paid result must not be lost over a cost field's type.
  fc.constantFrom(true, [], {}),
);
const usage = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  withExtras(
    fc.record(Object.fromEntries(USAGE_FIELDS.map((f) => [f, usageValue])), { requiredKeys: [] }),
  ),
);

const audioUrl = fc.oneof(
  fc
    .tuple(fc.stringMatching(/^[0-9a-f]{8,32}$/), fc.constantFrom('wav', 'mp3', 'WAV', 'flac', ''))
    .map(([name, ext]) => `https://rh-images.example.com/output/${name}${ext ? `.${ext}` : ''}`),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
);
const noUrl = fc.constantFrom(undefined, null, '');
const outputType = fc.oneof(
  fc.constantFrom(undefined, null, '', 'wav', 'mp3', 'MP3', ' audio/mpeg ', 'flac'),
  fc.string({ maxLength: 8 }),
  fc.integer({ min: 0, max: 9 }),
);
const resultFields = {
  outputType,
  text: fc.oneof(fc.constant(null), fc.string({ maxLength: 20 })),
  nodeId: fc.oneof(fc.constant(null), fc.constant('4'), fc.constant(4)),
};
const withAudio = withExtras(
  fc.oneof(
    fc.record(
      { url: audioUrl, outputUrl: fc.oneof(noUrl, audioUrl), ...resultFields },
      { requiredKeys: ['url'] },
    ),
    fc.record(
      { url: noUrl, outputUrl: audioUrl, ...resultFields },
      { requiredKeys: ['outputUrl'] },
    ),
  ),
);
const withoutAudio = withExtras(fc.record({ url: noUrl, ...resultFields }, { requiredKeys: [] }));
const results = fc
  .tuple(fc.array(withoutAudio, { maxLength: 1 }), withAudio, fc.array(withAudio, { maxLength: 2 }))
  .map(([before, first, after]) => [...before, first, ...after]);

const succeededAnswer = withExtras(
  fc.record(
    {
      status: fc.constantFrom('SUCCESS', 'success', ' SUCCESS '),
      errorCode: fc.constantFrom(undefined, null, ''),
      errorMessage: fc.constantFrom(undefined, null, ''),
      results,
      clientId: fc.constantFrom(undefined, null, 'f828b9af25161bc066ef152db7b29ccc'),
      promptTips: fc.constantFrom(undefined, null, '{"result": true}'),
      failedReason: fc.constantFrom(undefined, null, {}, ''),
      usage,
    },
    { requiredKeys: ['status', 'results'] },
  ),
);

/** What a usage field must read in the API: its text, or null when there is none. */
function expectedUsage(sent: unknown) {
  if (sent === null || sent === undefined) return null;
  const fields = sent as Record<string, unknown>;
  return Object.fromEntries(
    USAGE_FIELDS.map((f) => {
      const v = fields[f];
      return [f, typeof v === 'string' || typeof v === 'number' ? String(v) : null];
    }),
  );
}

describe('upstream answer shapes, from the client to the public API', () => {
  let api: Api;
  let key: string;
  let tenantId: string;
  let upstream: Server;
  let client: RunningHubClient;
  let answer: Record<string, unknown> = {};

  beforeAll(async () => {
    api = await startApi();
    ({ key, id: tenantId } = await api.tenant());
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
      );
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    client = new RunningHubClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'upstream-shapes-key',
    });
  });
  afterAll(async () => {
    await client?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
    await api?.close();
  });

  it('serves every succeeded answer the client accepts, with its values', async () => {
    let line = 0;
    await fc.assert(
      fc.asyncProperty(succeededAnswer, async (generated) => {
        line++;
        const created = await api.request('POST', '/v1/batches', {
          key,
          body: {
            voice: { audio: AUDIO_URL, custom_voice_id: 'narrator01' },
            lines: [{ text: `Line ${line}.` }],
          },
        });
        expect(created.statusCode).toBe(202);
        const batchId = created.json().id as string;
        const listed = await api.request('GET', `/v1/batches/${batchId}/clones`, { key });
        const cloneId = listed.json().data[0].id as string;

        const taskId = String(2013508786110730241n + BigInt(line));
        answer = { taskId, ...generated };
        const task = await client.queryTask(taskId);
        expect(task).toMatchObject({ taskId, status: 'SUCCESS', terminal: true });
        if (!task.audio) throw new Error('the client found no audio URL in a result that has one');
        await insertTaskAudio(api.database.db, {
          tenantId,
          cloneJobId: cloneId,
          task: { ...task, audio: task.audio },
          urlExpiresAt: new Date(),
        });

        const one = await api.request('GET', `/v1/clones/${cloneId}`, { key });
        expect(one.statusCode, one.body).toBe(200);
        const audio = one.json().audio;
        expect(audio.url).toBe(task.audio.url);
        const sentUrls = (generated.results as Record<string, unknown>[]).flatMap((r) => [
          r.url,
          r.outputUrl,
        ]);
        expect(sentUrls).toContain(audio.url);
        expect(audio.type).toBe(task.audio.type);
        expect(audio.usage).toEqual(expectedUsage(generated.usage));

        const page = await api.request('GET', `/v1/batches/${batchId}/clones`, { key });
        expect(page.statusCode, page.body).toBe(200);
        expect(page.json().data[0].audio).toEqual(audio);
      }),
      { numRuns: 120 },
    );
  });
});
