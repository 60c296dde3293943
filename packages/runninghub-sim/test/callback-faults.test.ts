import { type Received, Receiver } from '@voxline/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimulatorHandle } from '../src/index.js';
import { CONTROL, call, KEY, speak, startWithClock, T0, validSpeech } from './helpers.js';

// On a clock moved by hand, callbacks go out when the test flushes them (handle.flushCallbacks).
let sim: SimulatorHandle;
let clock: { now: number };
let receiver: Receiver;

beforeEach(async () => {
  receiver = await Receiver.start();
});
afterEach(async () => {
  await sim?.close();
  await receiver.down();
});

const hooked = (text = '[[sim:duration=1000]] A line.') =>
  validSpeech({ text, webhookUrl: `${receiver.url}/cb` });

async function speakId(body: unknown = hooked()): Promise<string> {
  const answer = await speak(sim, body);
  expect(answer.json?.errorCode).toBe('');
  return answer.json?.taskId as string;
}

const idOf = (request: Received | undefined) =>
  (JSON.parse(request?.body ?? '{}') as { taskId: string }).taskId;

describe('callbacks on a clock moved by hand', () => {
  it('go out when flushed once the clock has passed the end, not before', async () => {
    ({ sim, clock } = await startWithClock());
    const id = await speakId();
    expect(await sim.flushCallbacks()).toBe(0);
    clock.now = T0 + 999;
    expect(await sim.flushCallbacks()).toBe(0);
    clock.now = T0 + 1_000;
    expect(await sim.flushCallbacks()).toBe(1);
    expect(idOf(receiver.requests[0])).toBe(id);
    expect(await sim.flushCallbacks()).toBe(0);
    expect(receiver.requests).toHaveLength(1);
  });

  it('retries only once the clock has passed the backoff', async () => {
    ({ sim, clock } = await startWithClock({ callbackBackoffMs: 500, callbackAttempts: 3 }));
    receiver.reply = (_request, index) => ({ status: index < 2 ? 500 : 200 });
    await speakId();
    clock.now = T0 + 1_000;
    expect(await sim.flushCallbacks()).toBe(1);
    expect(await sim.flushCallbacks()).toBe(0);
    clock.now = T0 + 1_500;
    expect(await sim.flushCallbacks()).toBe(1);
    // The backoff doubles: 1 s after the second send.
    clock.now = T0 + 2_499;
    expect(await sim.flushCallbacks()).toBe(0);
    clock.now = T0 + 2_500;
    expect(await sim.flushCallbacks()).toBe(1);
    expect(sim.stats().callbacks).toMatchObject({ sent: 3, failed: 2, delivered: 1 });
  });

  it('a cancelled task is called back once, for its cancel', async () => {
    ({ sim, clock } = await startWithClock());
    const id = await speakId();
    clock.now = T0 + 300;
    const ok = await call(sim, '/task/openapi/cancel', { apiKey: KEY, taskId: id }, null);
    expect(ok.json?.code).toBe(0);
    expect(await sim.flushCallbacks()).toBe(1);
    clock.now = T0 + 5_000;
    expect(await sim.flushCallbacks()).toBe(0);
    const eventData = JSON.parse(
      (JSON.parse(receiver.requests[0]?.body ?? '{}') as { eventData: string }).eventData,
    ) as Record<string, unknown>;
    expect(eventData).toMatchObject({ taskId: id, status: 'CANCEL' });
  });

  it('bills the same line sent with another webhookUrl as a duplicate', async () => {
    ({ sim, clock } = await startWithClock({ maxInFlight: 10 }));
    const line = validSpeech({ text: 'The same line.' });
    await speakId({ ...line, webhookUrl: `${receiver.url}/cb/token-1` });
    await speakId({ ...line, webhookUrl: `${receiver.url}/cb/token-2` });
    await speakId(line);
    expect(sim.stats()).toMatchObject({ accepted: 3, duplicateSubmissions: 2 });
  });

  it('can be flushed over HTTP, behind the control token', async () => {
    ({ sim, clock } = await startWithClock());
    await speakId();
    clock.now = T0 + 1_000;
    const flush = (token: string) =>
      fetch(`${sim.url}/_sim/callbacks/flush`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await flush('wrong-token')).status).toBe(401);
    const res = await flush(CONTROL);
    expect(await res.json()).toEqual({ sent: 1 });
    expect(receiver.requests).toHaveLength(1);
  });

  it('keeps at most maxTasks sends pending, counting the rest as dropped', async () => {
    ({ sim, clock } = await startWithClock({ maxTasks: 2, maxInFlight: 10 }));
    for (let i = 0; i < 3; i++) await speakId();
    expect(sim.stats().callbacks).toMatchObject({ pending: 2, dropped: 1 });
    clock.now = T0 + 1_000;
    expect(await sim.flushCallbacks()).toBe(2);
  });
});

describe('callback faults', () => {
  it('callbackLost drops the callback, and counts it when the task ends', async () => {
    ({ sim, clock } = await startWithClock({ maxInFlight: 100 }));
    sim.setScenario({ faults: { callbackLost: 0.5 } });
    for (let i = 0; i < 40; i++) await speakId();
    clock.now = T0 + 1_000;
    const sent = await sim.flushCallbacks();
    const { callbacks, errorsInjected } = sim.stats();
    expect(sent).toBeGreaterThan(5);
    expect(callbacks.lost).toBeGreaterThan(5);
    expect(sent + callbacks.lost).toBe(40);
    expect(errorsInjected.callbackLost).toBe(callbacks.lost);
    expect(receiver.requests).toHaveLength(sent);
  });

  it('callbackLate sends after its delay, with the body of the ended task', async () => {
    ({ sim, clock } = await startWithClock({ callbackLateMs: 30_000 }));
    sim.setScenario({
      script: { speech: [{ kind: 'callbackLate', delayMs: 5_000 }, 'callbackLate'] },
    });
    const late = await speakId();
    const later = await speakId();
    clock.now = T0 + 5_999;
    expect(await sim.flushCallbacks()).toBe(0);
    clock.now = T0 + 6_000;
    expect(await sim.flushCallbacks()).toBe(1);
    expect(idOf(receiver.requests[0])).toBe(late);
    const body = JSON.parse(receiver.requests[0]?.body ?? '{}') as { eventData: string };
    expect(JSON.parse(body.eventData)).toMatchObject({ status: 'SUCCESS' });
    // Without its own delay, the scenario's callbackLateMs.
    clock.now = T0 + 31_000;
    expect(await sim.flushCallbacks()).toBe(1);
    expect(idOf(receiver.requests[1])).toBe(later);
    expect(sim.stats().errorsInjected).toEqual({ callbackLate: 2 });
  });

  it('callbackDuplicate sends the same callback twice', async () => {
    ({ sim, clock } = await startWithClock());
    sim.setScenario({
      script: { speech: ['callbackDuplicate', { kind: 'callbackDuplicate', delayMs: 200 }] },
    });
    const twice = await speakId();
    const apart = await speakId();
    clock.now = T0 + 1_000;
    expect(await sim.flushCallbacks()).toBe(3);
    expect(receiver.requests.map(idOf).sort()).toEqual([apart, twice, twice].sort());
    const [a, b] = receiver.requests.filter((r) => idOf(r) === twice);
    expect(a?.body).toBe(b?.body);
    clock.now = T0 + 1_200;
    expect(await sim.flushCallbacks()).toBe(1);
    expect(receiver.requests.filter((r) => idOf(r) === apart)).toHaveLength(2);
    expect(sim.stats().callbacks).toMatchObject({ sent: 4, delivered: 4 });
  });

  it('applies only where a task is created, and only to tasks with a webhook', async () => {
    ({ sim, clock } = await startWithClock());
    expect(() => sim.setScenario({ script: { query: ['callbackLost'] } })).toThrow(
      /callbackLost does not apply to query/,
    );
    sim.setScenario({ script: { speech: ['callbackLost'] }, faults: { callbackDuplicate: 1 } });
    // The scripted entry is used up by a submit without a webhook: nothing to lose.
    await speakId(validSpeech({ text: '[[sim:duration=1000]] Silent.' }));
    await speakId();
    clock.now = T0 + 1_000;
    expect(await sim.flushCallbacks()).toBe(2);
    expect(sim.stats().errorsInjected).toEqual({ callbackDuplicate: 1 });
  });

  it('shift nothing else in a seeded run', async () => {
    const fates = async (webhook: boolean) => {
      ({ sim, clock } = await startWithClock({ maxInFlight: 100, seed: 7 }));
      sim.setScenario({
        durations: { sigma: 0.5 },
        faults: { taskFail: 0.3, callbackLost: 0.5, callbackLate: 0.5 },
      });
      for (let i = 0; i < 20; i++) {
        const text = `Line ${i} of the book.`;
        await speakId(webhook ? hooked(text) : validSpeech({ text }));
      }
      clock.now = T0 + 86_400_000;
      const out = sim.tasks().map((t) => [t.finishesAt, t.status, t.errorCode]);
      await sim.close();
      return out;
    };
    const plain = await fates(false);
    const called = await fates(true);
    expect(called).toEqual(plain);
  });
});
