import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTaskCallback, RunningHubClient } from '@voxline/runninghub';
import { type Received, Receiver, waitFor } from '@voxline/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SimulatorHandle, startSimulator } from '../src/index.js';
import { CONTROL, call, KEY, query, speak, submit, validBody, validSpeech } from './helpers.js';

// From the end of a task (its finishedAt) to its callback at the receiver, on a shared 2-core
// machine: one timer, one loopback POST.
const CALLBACK_BOUND_MS = 300;

let sim: SimulatorHandle;
let receiver: Receiver;
let stalling: Server | null = null;

beforeEach(async () => {
  receiver = await Receiver.start();
});
afterEach(async () => {
  await sim?.close();
  await receiver.down();
  if (stalling) {
    stalling.closeAllConnections();
    await new Promise((resolve) => stalling?.close(resolve));
    stalling = null;
  }
});

/** On the real clock: callbacks go out by themselves when tasks end. */
const start = (over: Parameters<typeof startSimulator>[0] = {}) =>
  startSimulator({ controlToken: CONTROL, ...over });

const line = (durationMs: number, hook: string | null, extra = '') =>
  validSpeech({
    text: `[[sim:duration=${durationMs}]]${extra} A line of the book.`,
    ...(hook === null ? {} : { webhookUrl: hook }),
  });

async function speakId(body: unknown): Promise<string> {
  const answer = await speak(sim, body);
  expect(answer.json?.errorCode).toBe('');
  return answer.json?.taskId as string;
}

interface Callback {
  event: string;
  taskId: string;
  eventData: unknown;
}
const bodyOf = (request: Received) => JSON.parse(request.body) as Callback;
const arrived = (count: number) =>
  waitFor(`${count} callbacks`, () => receiver.requests.length >= count && receiver.requests, {
    timeoutMs: 10_000,
    intervalMs: 10,
  });

describe('callbacks to a webhookUrl', () => {
  it('posts TASK_END right after the task ends, eventData a string then an object', async () => {
    sim = await start();
    const first = await speakId(line(300, `${receiver.url}/cb/first`));
    const second = await speakId(line(400, `${receiver.url}/cb/second`));
    const requests = await arrived(2);

    const [a, b] = requests;
    expect(a?.path).toBe('/cb/first');
    expect(b?.path).toBe('/cb/second');
    expect(a?.headers['content-type']).toBe('application/json');
    for (const [request, taskId] of [
      [a, first],
      [b, second],
    ] as const) {
      const finished = sim.task(taskId)?.finishedAt;
      expect(finished).not.toBeNull();
      const lag = (request?.at ?? 0) - (finished ?? 0);
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(CALLBACK_BOUND_MS);
    }

    // The default alternates the two forms RunningHub uses; each is what a query says.
    const asString = bodyOf(a as Received);
    expect(asString).toMatchObject({ event: 'TASK_END', taskId: first });
    expect(typeof asString.eventData).toBe('string');
    expect(JSON.parse(asString.eventData as string)).toEqual((await query(sim, first)).json);
    const asObject = bodyOf(b as Received);
    expect(asObject).toMatchObject({ event: 'TASK_END', taskId: second });
    expect(asObject.eventData).toEqual((await query(sim, second)).json);

    // The client's parser reads both.
    for (const request of [a, b]) {
      const callback = parseTaskCallback(request?.body);
      expect(callback.task).toMatchObject({ status: 'SUCCESS', terminal: true });
      expect(callback.task?.audio?.url).toContain(`/files/${callback.taskId}.wav`);
    }
    expect(sim.stats().callbacks).toEqual({
      sent: 2,
      delivered: 2,
      failed: 0,
      abandoned: 0,
      lost: 0,
      pending: 0,
      dropped: 0,
    });
  });

  it('calls back what the client submitted, and the client reads it and confirms it', async () => {
    sim = await start();
    const client = new RunningHubClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      const hook = `${receiver.url}/callbacks/runninghub/t0ken`;
      const submitted = await client.submitSpeech(
        { model: 'speech-2.6-turbo', text: '[[sim:duration=200]] Hello.', voice_id: 'Wise_Woman' },
        { webhookUrl: hook },
      );
      const [request] = await arrived(1);
      expect(request?.path).toBe('/callbacks/runninghub/t0ken');
      const callback = parseTaskCallback(request?.body);
      expect(callback).toMatchObject({ event: 'TASK_END', taskId: submitted.taskId });
      const confirmed = await client.queryTask(callback.taskId);
      expect(confirmed.status).toBe('SUCCESS');
      expect(callback.task?.audio).toEqual(confirmed.audio);
      expect(callback.task?.usage).toEqual(confirmed.usage);
    } finally {
      await client.close();
    }
  });

  it('sends one form only when told, for voice clones as for speech', async () => {
    sim = await start({ callbackEventData: 'object' });
    const hook = `${receiver.url}/cb/clone`;
    const clone = await submit(
      sim,
      validBody({ text: '[[sim:duration=100]] Hello.', webhookUrl: hook }),
    );
    const cloneId = clone.json?.taskId as string;
    await arrived(1);
    sim.setScenario({ callbackEventData: 'string' });
    const speechId = await speakId(line(100, hook));
    const [first, second] = await arrived(2);
    expect(bodyOf(first as Received)).toMatchObject({
      taskId: cloneId,
      eventData: { taskId: cloneId },
    });
    expect(bodyOf(second as Received).taskId).toBe(speechId);
    expect(typeof bodyOf(second as Received).eventData).toBe('string');
    expect(sim.scenario().callbackEventData).toBe('string');
  });

  it('announces FAILED and CANCEL ends too', async () => {
    sim = await start();
    const failed = await speakId(line(100, `${receiver.url}/cb/failed`, ' [[sim:task=1005]]'));
    const [failure] = await arrived(1);
    expect(parseTaskCallback(failure?.body)).toMatchObject({
      taskId: failed,
      task: { status: 'FAILED', errorCode: '1005' },
    });

    const cancelled = await speakId(line(60_000, `${receiver.url}/cb/cancelled`));
    const ok = await call(sim, '/task/openapi/cancel', { apiKey: KEY, taskId: cancelled }, null);
    expect(ok.json?.code).toBe(0);
    const [, cancel] = await arrived(2);
    expect(parseTaskCallback(cancel?.body)).toMatchObject({
      taskId: cancelled,
      task: { status: 'CANCEL' },
    });
    expect(sim.stats().callbacks).toMatchObject({ sent: 2, delivered: 2 });
  });

  it('sends nothing for a submit without a webhookUrl', async () => {
    sim = await start();
    // Ends well before the task whose callback is awaited: had it one, it would be first.
    const silent = await speakId(line(50, null));
    const called = await speakId(line(400, `${receiver.url}/cb/called`));
    const [only] = await arrived(1);
    expect(bodyOf(only as Received).taskId).toBe(called);
    expect(sim.task(silent)?.status).toBe('SUCCESS');
    expect(receiver.requests).toHaveLength(1);
    expect(sim.stats().callbacks.sent).toBe(1);
  });

  it('refuses a webhookUrl that is not http(s), and takes an empty one as none', async () => {
    sim = await start();
    for (const webhookUrl of ['ftp://example.com/cb', 'not a url', 42]) {
      const answer = await speak(sim, { ...line(50, null), webhookUrl });
      expect(answer.json).toMatchObject({
        errorCode: '301',
        errorMessage: 'PARAMS_INVALID: webhookUrl must be an http(s) URL',
      });
    }
    expect(sim.stats().accepted).toBe(0);
    const none = await speak(sim, { ...line(50, null), webhookUrl: '' });
    expect(none.json?.errorCode).toBe('');
    expect(sim.stats().callbacks.pending).toBe(0);
  });

  it('re-sends after a 500, waiting the backoff, then stops', async () => {
    sim = await start({ callbackBackoffMs: 200, callbackAttempts: 3 });
    receiver.reply = (_request, index) => ({ status: index === 0 ? 500 : 204 });
    const id = await speakId(line(100, `${receiver.url}/cb/retry`));
    const [first, second] = await arrived(2);
    expect(bodyOf(second as Received)).toEqual(bodyOf(first as Received));
    expect(bodyOf(first as Received).taskId).toBe(id);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(200 - 5);
    await waitFor('the retry answered', () => sim.stats().callbacks.delivered === 1);
    expect(sim.stats().callbacks).toMatchObject({ sent: 2, delivered: 1, failed: 1, pending: 0 });
  });

  it('gives up after its last attempt', async () => {
    sim = await start({ callbackBackoffMs: 20, callbackAttempts: 3 });
    receiver.reply = () => ({ status: 503 });
    await speakId(line(50, `${receiver.url}/cb/down`));
    await waitFor('the callback given up', () => sim.stats().callbacks.abandoned === 1);
    expect(receiver.requests).toHaveLength(3);
    expect(sim.stats().callbacks).toMatchObject({ sent: 3, delivered: 0, failed: 3, pending: 0 });
  });

  it('re-sends when the receiver does not answer in time', async () => {
    const seen: number[] = [];
    const held: ServerResponse[] = [];
    stalling = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      seen.push(Date.now());
      // The first is never answered; the second is.
      if (seen.length === 1) held.push(res);
      else res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => stalling?.listen(0, '127.0.0.1', resolve));
    const port = (stalling.address() as AddressInfo).port;
    sim = await start({ callbackTimeoutMs: 200, callbackBackoffMs: 0 });
    await speakId(line(50, `http://127.0.0.1:${port}/cb`));
    await waitFor('the second send answered', () => sim.stats().callbacks.delivered === 1);
    expect(seen).toHaveLength(2);
    expect((seen[1] ?? 0) - (seen[0] ?? 0)).toBeGreaterThanOrEqual(200 - 5);
    expect(sim.stats().callbacks).toMatchObject({ sent: 2, failed: 1, delivered: 1 });
  });

  it('close() drops pending callbacks and cuts the ones in flight', async () => {
    const held: ServerResponse[] = [];
    stalling = createServer((req, res) => {
      req.resume();
      held.push(res);
    });
    await new Promise<void>((resolve) => stalling?.listen(0, '127.0.0.1', resolve));
    const port = (stalling.address() as AddressInfo).port;
    sim = await start({ callbackTimeoutMs: 60_000 });
    await speakId(line(50, `http://127.0.0.1:${port}/cb/held`));
    await speakId(line(3_600_000, `${receiver.url}/cb/later`));
    await waitFor('the first callback held open', () => held.length === 1);
    expect(sim.stats().callbacks).toMatchObject({ sent: 1, pending: 1 });

    const closing = Date.now();
    await sim.close();
    // Not the 60 s the held request would have been given.
    expect(Date.now() - closing).toBeLessThan(2_000);
    expect(sim.stats().callbacks).toMatchObject({ sent: 1, delivered: 0, failed: 0, pending: 0 });
  });

  it('close() before a task ends: its callback never comes', async () => {
    const closed = await start();
    sim = closed;
    const dropped = await speakId(line(100, `${receiver.url}/cb/dropped`));
    await closed.close();
    expect(closed.stats().callbacks.pending).toBe(0);
    // A second simulator's task ends well after the first's would have: by its callback, the
    // first one's timer would have fired.
    sim = await start();
    const later = await speakId(line(400, `${receiver.url}/cb/later`));
    const [only] = await arrived(1);
    expect(bodyOf(only as Received).taskId).toBe(later);
    expect(receiver.requests.map((r) => bodyOf(r).taskId)).not.toContain(dropped);
    expect(receiver.requests).toHaveLength(1);
  });

  it('reset() drops pending callbacks and their counts', async () => {
    sim = await start();
    await speakId(line(3_600_000, `${receiver.url}/cb/later`));
    expect(sim.stats().callbacks.pending).toBe(1);
    sim.reset();
    expect(sim.stats().callbacks.pending).toBe(0);
    expect(await sim.flushCallbacks()).toBe(0);
  });
});
