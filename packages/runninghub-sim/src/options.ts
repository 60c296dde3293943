import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@voxline/config';
import { parseList } from '@voxline/config';
import type { Logger } from '@voxline/logger';
import { type PriceList, PUBLIC_PRICES } from '@voxline/runninghub';
import type { CallbackEventData } from './callback-body.js';
import {
  FAULT_KINDS,
  type FaultKind,
  type FaultProbabilities,
  type ScriptEntry,
  type SimEndpoint,
} from './faults.js';
import type { SynthChoice } from './synth/renderer.js';
import type { AudioFormat } from './synth/request.js';

export interface Durations {
  baseMs: number;
  perCharMs: number;
  /** Sigma of the log-normal factor applied to base + perChar * length. */
  sigma: number;
}

export interface SimOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Base of the URLs handed out (files, media); defaults to the listening address. */
  publicUrl: string | null;
  /** Accepted Bearer keys; null accepts any non-empty key. */
  apiKeys: string[] | null;
  controlToken: string;
  maxInFlight: number;
  seed: number;
  durations: Durations;
  linkTtlMs: number;
  voiceIdMinLength: number;
  /** The contract says a duplicate custom_voice_id is an upstream error; MiniMax says 2039. */
  duplicateVoiceId: 'allow' | 'fail-task';
  /** A key whose submits fail with this code (balance 416, auth 801, moderation 1501...). */
  keyErrors: Record<string, string>;
  faults: FaultProbabilities;
  faultsByEndpoint: Partial<Record<SimEndpoint, FaultProbabilities>>;
  script: Partial<Record<SimEndpoint, ScriptEntry[]>>;
  /** Delay of a slow response; the default outlasts the client's default 30 s timeout. */
  slowResponseMs: number;
  /** retry-after (seconds) sent with an injected HTTP 429. */
  retryAfterS: number;
  /** Code of a task failed by the `taskFail` fault when it names none. */
  taskFailCode: string;
  /**
   * 0..1: the chance that each detail of a submit or query answer takes another of the shapes
   * real RunningHub uses (see shapes.ts); 0 answers in the contract's canonical shape.
   */
  shapeVariety: number;
  /**
   * What a successful task reports as usage.consumeMoney (CNY): a voice clone's price per
   * call, a speech task's per 1,000 billed characters of its text. RunningHub's public list.
   */
  prices: PriceList;
  /** A cloned voice unused this long is forgotten (MiniMax: 7 days). */
  voiceTtlMs: number;
  /**
   * A speech call naming a voice the key does not have fails with 2054: `submit` answers the
   * code at once, `task` accepts the task and ends it FAILED (the voice is looked up at submit).
   */
  voiceMissingAt: 'submit' | 'task';
  /** How a callback's eventData travels: a JSON string, an object, or each in turn. */
  callbackEventData: CallbackEventData;
  /** How late a `callbackLate` fault sends when it names no delay. */
  callbackLateMs: number;
  /** Sends of one callback at most (RunningHub re-sends to a receiver that fails). */
  callbackAttempts: number;
  /** The wait before a callback's second send; it doubles for each later one. */
  callbackBackoffMs: number;
  /** A receiver that has not answered a callback by then has failed that send. */
  callbackTimeoutMs: number;
  /**
   * Callbacks go out on timers when due. false: only `handle.flushCallbacks()` sends them, for
   * tests whose clock (`now`) stands still until they move it.
   */
  callbackTimers: boolean;
  /** Task records kept, and callback sends pending; the oldest finished tasks are dropped beyond it. */
  maxTasks: number;
  /** The contract's limit for reference audio. */
  maxUploadBytes: number;
  /** All uploaded files together; the oldest are dropped beyond it. */
  maxStoredUploadBytes: number;
  logger: Logger | null;
  /** Who speaks results (see synth/renderer.ts). In process the tone, cheap and per task. */
  synth: SynthChoice;
  audioFormat: AudioFormat;
  /** The render cache lives in its `audio/`. */
  filesDir: string;
  audioCacheBytes: number;
  synthConcurrency: number;
  /** The clock; tests may pass their own. */
  now: () => number;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = {
  host: '127.0.0.1',
  port: 0,
  publicUrl: null,
  apiKeys: null,
  controlToken: 'voxline-sim-control',
  maxInFlight: 3,
  seed: 1,
  durations: { baseMs: 3_000, perCharMs: 40, sigma: 0.3 },
  linkTtlMs: 24 * 3_600_000,
  voiceIdMinLength: 8,
  duplicateVoiceId: 'fail-task',
  keyErrors: {},
  faults: {},
  faultsByEndpoint: {},
  script: {},
  slowResponseMs: 35_000,
  retryAfterS: 1,
  taskFailCode: '1005',
  shapeVariety: 0,
  prices: PUBLIC_PRICES,
  voiceTtlMs: 7 * 24 * 3_600_000,
  voiceMissingAt: 'task',
  // Both forms RunningHub is seen to use, so that a receiver is tested with each.
  callbackEventData: 'alternate',
  callbackLateMs: 10_000,
  // RunningHub documents that it re-sends, not how often: a few sends, 1 s then 2 s apart.
  callbackAttempts: 3,
  callbackBackoffMs: 1_000,
  callbackTimeoutMs: 5_000,
  callbackTimers: true,
  maxTasks: 100_000,
  maxUploadBytes: 10 * 1024 * 1024,
  maxStoredUploadBytes: 256 * 1024 * 1024,
  logger: null,
  // Tests, chaos and bench drive thousands of tasks whose audio nobody hears; the standalone
  // simulator (SIM_SYNTH) speaks.
  synth: 'tone',
  audioFormat: 'wav',
  filesDir: join(tmpdir(), 'voxline-sim'),
  audioCacheBytes: 256 * 1024 * 1024,
  // Two cores are the smallest machine this runs on; renders beyond that only queue up.
  synthConcurrency: Math.min(2, availableParallelism()),
  now: Date.now,
};

/** "key:code,key:code" as in SIM_KEY_ERRORS. */
export function parseKeyErrors(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of parseList(value)) {
    const at = item.lastIndexOf(':');
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/** "http500=0.01,code1003=0.05" as in SIM_FAULTS. */
export function parseFaults(value: string | undefined): FaultProbabilities {
  const out: FaultProbabilities = {};
  for (const item of parseList(value)) {
    const [kind, p] = item.split('=');
    if (!(FAULT_KINDS as readonly string[]).includes(kind ?? '')) {
      throw new Error(`SIM_FAULTS: unknown fault ${kind}; known: ${FAULT_KINDS.join(', ')}`);
    }
    out[kind as FaultKind] = Number(p);
  }
  return out;
}

export function simOptionsFromConfig(config: Config): Partial<SimOptions> {
  const apiKeys = parseList(config.SIM_API_KEYS);
  return {
    host: config.SIM_HOST,
    port: config.SIM_PORT,
    publicUrl: config.SIM_PUBLIC_URL ?? null,
    apiKeys: apiKeys.length > 0 ? apiKeys : null,
    controlToken: config.SIM_CONTROL_TOKEN,
    maxInFlight: config.SIM_MAX_IN_FLIGHT,
    seed: config.SIM_SEED,
    durations: {
      baseMs: config.SIM_BASE_DURATION_MS,
      perCharMs: config.SIM_PER_CHAR_MS,
      sigma: config.SIM_DURATION_SIGMA,
    },
    linkTtlMs: config.SIM_LINK_TTL_MS,
    voiceIdMinLength: config.CUSTOM_VOICE_ID_MIN_LENGTH,
    duplicateVoiceId: config.SIM_DUPLICATE_VOICE_ID,
    voiceTtlMs: config.SIM_VOICE_TTL_MS,
    voiceMissingAt: config.SIM_VOICE_MISSING_AT,
    keyErrors: parseKeyErrors(config.SIM_KEY_ERRORS),
    faults: parseFaults(config.SIM_FAULTS),
    slowResponseMs: config.SIM_SLOW_RESPONSE_MS,
    taskFailCode: config.SIM_TASK_FAIL_CODE,
    shapeVariety: config.SIM_SHAPE_VARIETY,
    callbackEventData: config.SIM_CALLBACK_EVENT_DATA,
    callbackLateMs: config.SIM_CALLBACK_LATE_MS,
    callbackAttempts: config.SIM_CALLBACK_ATTEMPTS,
    callbackBackoffMs: config.SIM_CALLBACK_BACKOFF_MS,
    callbackTimeoutMs: config.SIM_CALLBACK_TIMEOUT_MS,
    maxTasks: config.SIM_MAX_TASKS,
    synth: config.SIM_SYNTH,
    audioFormat: config.SIM_AUDIO_FORMAT,
    ...(config.SIM_FILES_DIR ? { filesDir: config.SIM_FILES_DIR } : {}),
    audioCacheBytes: config.SIM_AUDIO_CACHE_MB * 1024 * 1024,
    synthConcurrency: config.SIM_SYNTH_CONCURRENCY,
  };
}
