import { loadConfig } from '@voxline/config';
import {
  actualCost,
  errorFromFailedTask,
  estimateTaskCost,
  PUBLIC_PRICES,
  RunningHubClient,
  RunningHubError,
  type SpeechParams,
  type TaskResponse,
  type UploadResult,
  type VoiceCloneParams,
} from '@voxline/runninghub';
import { waitFor } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderWav, type SimulatorHandle, startSimulator } from '../src/index.js';
import { parseWav } from './helpers.js';

/**
 * The client against a RunningHub: always the simulator, and the real service when asked.
 * The same expectations hold for both, except where the real service's answer is unknown
 * (codes for bad parameters or keys) or costs money (filling the concurrency limit).
 */
interface Target {
  live: boolean;
  baseUrl: string;
  apiKey: string;
  pollIntervalMs: number;
  deadlineMs: number;
}

const config = loadConfig();
const LIVE_KEY = config.RUNNINGHUB_API_KEY;
const LIVE = config.RUNNINGHUB_LIVE && !!LIVE_KEY;

function contractSuite(getTarget: () => Target) {
  let target: Target;
  let client: RunningHubClient;
  let upload: UploadResult;
  let audioUrl: string;
  // The voice the clone test made, and whether upstream accepted it.
  let cloned: { voiceId: string; succeeded: boolean } | undefined;

  beforeAll(async () => {
    target = getTarget();
    client = new RunningHubClient({
      baseUrl: target.baseUrl,
      apiKey: target.apiKey,
      requestTimeoutMs: 30_000,
      voiceMissingCodes: config.RUNNINGHUB_VOICE_MISSING_CODES,
    });
    // MiniMax wants 10 s to 5 min of reference audio: 200 characters' worth is 12 s.
    upload = await client.uploadMedia(
      renderWav('contract-reference', 200),
      'voxline-contract.wav',
      'audio/wav',
    );
    audioUrl = upload.downloadUrl;
  });
  afterAll(async () => {
    await client?.close();
  });

  const params = (over: Partial<VoiceCloneParams> = {}): VoiceCloneParams => ({
    audio: audioUrl,
    custom_voice_id: `voxline${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    text: 'Voxline contract check: one short sentence.',
    need_noise_reduction: false,
    need_volume_normalization: false,
    model: 'speech-02-turbo',
    ...over,
  });

  async function poll(taskId: string): Promise<TaskResponse> {
    // A wrong id ends the wait at once, to fail below rather than poll until the deadline.
    const task = await waitFor(
      `task ${taskId}`,
      async () => {
        const seen = await client.queryTask(taskId);
        return seen.terminal || seen.taskId !== taskId ? seen : undefined;
      },
      { timeoutMs: target.deadlineMs, intervalMs: target.pollIntervalMs },
    );
    expect(task.taskId).toBe(taskId);
    return task;
  }

  it('uploads reference audio and gets a download url serving it', async () => {
    expect(upload.downloadUrl).toMatch(target.live ? /^https:\/\// : /^http:\/\//);
    // What the real store does with the file (transcoding, access) is not documented.
    if (target.live) return;
    const res = await fetch(upload.downloadUrl);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(renderWav('contract-reference', 200).length);
  });

  it('submits a voice clone and polls it to a terminal state', async () => {
    const clone = params();
    const submitted = await client.submitVoiceClone(clone);
    expect(submitted.taskId).toMatch(/^\d+$/);
    expect(submitted.errorCode).toBe('');
    const task = submitted.terminal ? submitted : await poll(submitted.taskId);
    cloned = { voiceId: clone.custom_voice_id, succeeded: task.status === 'SUCCESS' };
    if (task.status === 'SUCCESS') {
      expect(task.audio?.url).toMatch(/^https?:\/\//);
      const res = await fetch(task.audio?.url ?? '');
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.length).toBeGreaterThan(1_000);
      if (!target.live) {
        expect(task.usage?.consumeMoney).toBe('3.12');
        expect(parseWav(bytes).durationMs).toBeGreaterThan(1_000);
      }
    } else {
      // A synthetic tone may be refused by the real clone checks; that must classify.
      expect(target.live).toBe(true);
      const error = errorFromFailedTask(task);
      expect(error).toBeInstanceOf(RunningHubError);
      expect(error.code ?? task.status).not.toBe('');
    }
  });

  const line = (over: Partial<SpeechParams> = {}): SpeechParams => ({
    // The cheapest model (0.19 CNY per 1,000 characters): a live run pays well under a cent.
    model: 'speech-02-turbo',
    text: 'Voxline contract check.',
    voice_id: 'Wise_Woman',
    ...over,
  });

  async function speakAndWait(params: SpeechParams): Promise<TaskResponse> {
    const submitted = await client.submitSpeech(params);
    expect(submitted.taskId).toMatch(/^\d+$/);
    return submitted.terminal ? submitted : await poll(submitted.taskId);
  }

  it('speaks a line with a system voice and reports what it cost', async () => {
    const params = line();
    const task = await speakAndWait(params);
    expect(task.status).toBe('SUCCESS');
    const res = await fetch(task.audio?.url ?? '');
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1_000);
    const cost = actualCost(task.usage?.consumeMoney);
    // What voxline estimates is what the public list says; the real bill may differ.
    if (!target.live) {
      expect(cost).toBe(estimateTaskCost(PUBLIC_PRICES, { ...params, kind: 'speech' }));
    }
  });

  it('speaks with the voice just cloned, or names it missing when the clone failed', async () => {
    expect(cloned).toBeDefined();
    const voice = cloned ?? { voiceId: '', succeeded: false };
    const outcome = await speakAndWait(line({ voice_id: voice.voiceId })).catch((e: unknown) => e);
    if (voice.succeeded) {
      expect(outcome).toMatchObject({ status: 'SUCCESS', audio: { url: expect.any(String) } });
    } else {
      const error =
        outcome instanceof RunningHubError ? outcome : client.failureOf(outcome as TaskResponse);
      expect(error.voiceMissing).toBe(true);
    }
  });

  it('fails a line whose voice upstream does not have as voiceMissing, fatal', async () => {
    const unknown = `voxlineNoSuchVoice${Date.now()}`;
    const outcome = await speakAndWait(line({ voice_id: unknown })).catch((e: unknown) => e);
    // Upstream may refuse the submit or fail the task; either way the error must say so.
    const error =
      outcome instanceof RunningHubError ? outcome : client.failureOf(outcome as TaskResponse);
    expect(
      error.voiceMissing,
      `not recognised as a missing voice (code ${error.code}, "${error.upstreamMessage}"): add the code to RUNNINGHUB_VOICE_MISSING_CODES`,
    ).toBe(true);
    expect(error.kind).toBe('fatal');
  });

  it('refuses invalid speech settings without retrying', async () => {
    const error = await client.submitSpeech(line({ speed: 5 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunningHubError);
    if (!target.live) {
      expect(error).toMatchObject({ kind: 'fatal', code: '301', voiceMissing: false });
    }
  });

  it('reports an unknown task as lost (1004), and a malformed id as lost (1007)', async () => {
    const error = await client.queryTask('1000000000000000001').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunningHubError);
    expect(error).toMatchObject({ kind: 'fatal', code: '1004', endpoint: 'query', taskLost: true });
    expect((error as RunningHubError).raw).toMatchObject({ taskId: '1000000000000000001' });
    const malformed = await client.queryTask('not-a-task-id').catch((e: unknown) => e);
    expect(malformed).toMatchObject({ kind: 'fatal', code: '1007', taskLost: true });
  });

  it('refuses invalid parameters without retrying', async () => {
    const bad = { ...params(), model: 'no-such-model' } as unknown as VoiceCloneParams;
    const error = await client.submitVoiceClone(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunningHubError);
    if (!target.live) expect(error).toMatchObject({ kind: 'fatal', code: '301' });
  });

  it('refuses a wrong key and alerts the operator, without leaking it', async () => {
    const wrongKey = `voxline-wrong-key-${Date.now()}`;
    const wrong = new RunningHubClient({ baseUrl: target.baseUrl, apiKey: wrongKey });
    try {
      const error = await wrong.submitVoiceClone(params()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunningHubError);
      expect(error).toMatchObject({ kind: 'fatal', alertOperator: true });
      expect((error as Error).message).not.toContain(wrongKey);
      expect(JSON.stringify((error as RunningHubError).raw)).not.toContain(wrongKey);
    } finally {
      await wrong.close();
    }
  });
}

describe('contract: client against the simulator', () => {
  const KEY = 'contract-sim-key-0001';
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({
      apiKeys: [KEY],
      durations: { baseMs: 30, perCharMs: 1, sigma: 0.3 },
    });
  });
  afterAll(async () => {
    await sim?.close();
  });

  contractSuite(() => ({
    live: false,
    baseUrl: sim.url,
    apiKey: KEY,
    pollIntervalMs: 10,
    deadlineMs: 5_000,
  }));

  it('answers a full key with back-pressure, then takes work again once a slot frees', async () => {
    sim.setScenario({ maxInFlight: 1, durations: { baseMs: 150, perCharMs: 0, sigma: 0 } });
    const client = new RunningHubClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      const body = (id: string): VoiceCloneParams => ({
        audio: `${sim.url}/media/x.wav`,
        custom_voice_id: id,
        text: 'slot test',
        need_noise_reduction: false,
        need_volume_normalization: false,
        model: 'speech-2.8-hd',
      });
      const first = await client.submitVoiceClone(body('slotTest01'));
      const full = await client.submitVoiceClone(body('slotTest02')).catch((e: unknown) => e);
      expect(full).toMatchObject({ kind: 'backpressure', code: '421', retryAfterMs: null });
      await waitFor(
        'first task to finish',
        async () => (await client.queryTask(first.taskId)).terminal,
      );
      expect((await client.submitVoiceClone(body('slotTest03'))).taskId).toMatch(/^\d+$/);
    } finally {
      await client.close();
    }
  });

  it('reads speech answers in every shape, and a missing voice in both modes', async () => {
    sim.setScenario({
      maxInFlight: 10,
      durations: { baseMs: 20, perCharMs: 0, sigma: 0 },
      shapeVariety: 1,
      voiceMissingAt: 'submit',
    });
    const client = new RunningHubClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      const line: SpeechParams = { model: 'speech-2.6-hd', text: 'shapes', voice_id: 'Abbess' };
      const submitted = await client.submitSpeech(line);
      const done = await waitFor('speech task', async () => {
        const task = await client.queryTask(submitted.taskId);
        return task.terminal ? task : undefined;
      });
      expect(done.status).toBe('SUCCESS');
      expect(done.audio?.url).toMatch(/^http:\/\//);
      // Shapes drop or null usage fields: the cost is then unknown, never wrong.
      expect([null, 0.00372]).toContain(actualCost(done.usage?.consumeMoney));

      const missing = { ...line, voice_id: 'voxlineNoSuchVoice1' };
      const refused = await client.submitSpeech(missing).catch((e: unknown) => e);
      expect(refused).toMatchObject({ kind: 'fatal', code: '2054', voiceMissing: true });
      sim.setScenario({ voiceMissingAt: 'task' });
      const accepted = await client.submitSpeech(missing);
      const failed = await waitFor('missing-voice task', async () => {
        const task = await client.queryTask(accepted.taskId);
        return task.terminal ? task : undefined;
      });
      expect(client.failureOf(failed)).toMatchObject({
        kind: 'fatal',
        code: '2054',
        voiceMissing: true,
      });
    } finally {
      sim.setScenario({ shapeVariety: 0 });
      await client.close();
    }
  });
});

describe.skipIf(!LIVE)(
  'contract: client against the real RunningHub (skipped: set RUNNINGHUB_LIVE=1, RUNNINGHUB_API_KEY and RUNNINGHUB_BASE_URL; each run submits one paid clone and a few short paid speech lines)',
  () => {
    contractSuite(() => ({
      live: true,
      // Config refuses a key without a base URL, so a live run always names one.
      baseUrl: config.RUNNINGHUB_BASE_URL ?? '',
      apiKey: LIVE_KEY ?? '',
      pollIntervalMs: 3_000,
      deadlineMs: 600_000,
    }));
  },
);
