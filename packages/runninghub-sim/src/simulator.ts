import {
  estimateTaskCost,
  type SpeechModel,
  SYSTEM_VOICES,
  voiceCloneParamsSchema,
} from '@voxline/runninghub';
import type { ZodError } from 'zod';
import { formatPrice } from './billing.js';
import {
  errorReply,
  type ResultLinks,
  type SimReply,
  taskBody,
  taskNotFoundReply,
} from './bodies.js';
import { webhookUrlOf, withoutWebhook } from './callback-body.js';
import { CallbackScheduler } from './callbacks.js';
import {
  type CallbackFault,
  drawCallbackFault,
  drawFaults,
  type Fault,
  type FaultProbabilities,
  faultLabel,
  isCallbackFault,
  type SimEndpoint,
  toFault,
} from './faults.js';
import { TaskIds } from './ids.js';
import { bearerOf, keyLabel, sameSecret } from './keys.js';
import { LinkSigner } from './links.js';
import { MarkerError, parseMarkers } from './markers.js';
import { messageFor } from './messages.js';
import type { SimOptions } from './options.js';
import { logNormalFactor, type Random, stream } from './prng.js';
import { type ParsedScenario, type Scenario, scenarioSchema } from './scenario.js';
import { varyShape } from './shapes.js';
import { speechBodySchema, withModel } from './speech-body.js';
import { fingerprint, type SimStats, StatsCollector } from './stats.js';
import { type AudioRenderer, CONTENT_TYPES } from './synth/renderer.js';
import {
  type SpeechRequest,
  speechOfSpeech,
  speechOfVoiceClone,
  type Timbre,
  timbreOfClone,
  timbreOfSystemVoice,
} from './synth/request.js';
import {
  finishedAt,
  type SimStatus,
  type SimTask,
  type SimTaskKind,
  statusAt,
  TaskStore,
} from './tasks.js';
import { type StoredUpload, sniffAudio, UploadStore } from './uploads.js';
import { type SimVoiceView, VoiceRegistry } from './voices.js';

export interface SimTaskView {
  taskId: string;
  /** The key's label (see keyLabel), never the key. */
  key: string;
  kind: SimTaskKind;
  /** A voice clone's custom_voice_id, or the voice_id a speech task speaks with. */
  customVoiceId: string;
  model: string;
  textLength: number;
  status: SimStatus;
  errorCode: string;
  createdAt: number;
  runningAt: number;
  /** When the task ends or ended by its schedule; null for a task that never finishes. */
  finishesAt: number | null;
  /** When it did end (SUCCESS/FAILED/CANCEL), null while in flight. */
  finishedAt: number | null;
  queries: number;
  /** usage.consumeMoney of a task that succeeded, null until then (and for any other end). */
  consumeMoney: string | null;
}

export type CurrentScenario = Required<Omit<ParsedScenario, 'script'>> & {
  script: Partial<Record<SimEndpoint, Fault[]>>;
};

// Part of a task's time spent QUEUED before RUNNING.
const QUEUED_SHARE = 0.1;
// Upstream's task ids are decimal; anything else it cannot read (1007, contract).
const TASK_ID_PATTERN = /^\d+$/;
const SYSTEM_VOICE_NAMES: ReadonlySet<string> = new Set(SYSTEM_VOICES);

/** A submit body that passed its endpoint's schema, whichever endpoint it came to. */
interface Submission {
  kind: SimTaskKind;
  /** The text as sent: what is billed. */
  text: string;
  /** custom_voice_id of a clone, voice_id of a speech call. */
  voiceId: string;
  model: string;
  price: string;
  /** A clone's voice is its reference's; a speech call's is looked up when it is accepted. */
  timbre: Timbre | null;
  /** What the task speaks, from its text without markers, in its voice. */
  speech(text: string, timbre: Timbre): SpeechRequest;
  /** Called back when the task ends; null without one. */
  webhookUrl: string | null;
}

/** The faults of one request: its own, its task's fate, its task's callback's. */
interface RequestFaults {
  request: Fault | null;
  task: Fault | null;
  callback: CallbackFault | null;
}

const paramsInvalid = (error: ZodError) =>
  `PARAMS_INVALID: ${error.issues.map((i) => i.message).join('; ')}`;

function fieldOf(body: unknown, name: string): string | null {
  if (!body || typeof body !== 'object') return null;
  const value = (body as Record<string, unknown>)[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return null;
}

/**
 * RunningHub's voice-clone service, minus HTTP: routes call these methods. All state is in
 * memory and bounded; task status is derived from the clock when asked.
 */
export class Simulator {
  /** Where handed-out URLs point; set once the server listens. */
  baseUrl = '';
  readonly #initial: SimOptions;
  #opts: SimOptions;
  #scripts = new Map<SimEndpoint, Fault[]>();
  #durationRandom: Random;
  #faultRandom: Random;
  #shapeRandom: Random;
  #callbackRandom: Random;
  // Callback bodies vary in shape from their own stream: sending them shifts no query's shape.
  #callbackShapeRandom: Random;
  // Which form the next 'alternate' callback takes.
  #callbackForms = 0;
  readonly #callbacks: CallbackScheduler;
  readonly #tasks: TaskStore;
  readonly #uploads: UploadStore;
  readonly #voices: VoiceRegistry;
  #stats = new StatsCollector();
  readonly #ids = new TaskIds();
  readonly #links = new LinkSigner();
  readonly #schema: ReturnType<typeof voiceCloneParamsSchema>;
  readonly #speechSchema = speechBodySchema();
  readonly #audio: AudioRenderer;

  constructor(options: SimOptions, audio: AudioRenderer) {
    this.#audio = audio;
    this.#initial = options;
    this.#opts = { ...options };
    this.#tasks = new TaskStore(options.maxTasks);
    this.#uploads = new UploadStore(options.maxStoredUploadBytes);
    this.#voices = new VoiceRegistry(options.maxTasks);
    this.#schema = voiceCloneParamsSchema({ voiceIdMinLength: options.voiceIdMinLength });
    this.#durationRandom = stream(options.seed, 'durations');
    this.#faultRandom = stream(options.seed, 'faults');
    this.#shapeRandom = stream(options.seed, 'shapes');
    this.#callbackRandom = stream(options.seed, 'callbacks');
    this.#callbackShapeRandom = stream(options.seed, 'callback-shapes');
    this.#callbacks = new CallbackScheduler({
      now: () => this.now(),
      settings: () => ({
        lateMs: this.#opts.callbackLateMs,
        attempts: this.#opts.callbackAttempts,
        backoffMs: this.#opts.callbackBackoffMs,
        timeoutMs: this.#opts.callbackTimeoutMs,
      }),
      queryBody: (task, now) => this.#callbackQueryBody(task, now),
      maxPending: options.maxTasks,
      timers: options.callbackTimers,
      logger: options.logger,
    });
    this.setScenario({ script: options.script });
  }

  now(): number {
    return this.#opts.now();
  }

  get options(): Readonly<SimOptions> {
    return this.#opts;
  }

  // --- the upstream API ---------------------------------------------------------------

  /** The voice-clone endpoint. */
  submit(authorization: string | undefined, body: unknown): SimReply {
    return this.#submitTo('submit', authorization, body, null);
  }

  /** The speech endpoint of `model`. */
  speech(model: SpeechModel, authorization: string | undefined, body: unknown): SimReply {
    return this.#submitTo('speech', authorization, body, model);
  }

  #submitTo(
    endpoint: 'submit' | 'speech',
    authorization: string | undefined,
    body: unknown,
    model: SpeechModel | null,
  ): SimReply {
    const key = bearerOf(authorization);
    const denied = this.#authenticate(endpoint, key);
    if (denied || key === null) return denied ?? this.#missingKey(endpoint);
    const label = keyLabel(key);
    const now = this.now();
    // A speech call's model is its path: one body sent to two models is two requests. Where
    // the task is called back is not what is paid for: the same line sent again with another
    // webhookUrl (a fresh per-task token) is paid twice all the same.
    const paid = withoutWebhook(body);
    const print = fingerprint(label, model === null ? paid : [model, paid]);
    this.#stats.submitted(print);
    const faults = this.#nextFaults(endpoint);
    const rejected = this.#rejectByFault(endpoint, faults.request);
    if (rejected) return this.#vary(rejected);
    const acceptedBefore = this.#stats.accepted;
    const submission = this.#submissionOf(body, model);
    const reply = this.#vary(this.#accept(endpoint, key, label, submission, print, faults, now));
    // What is left of the request fault damages or delays the answer of a task now created.
    if (faults.request && this.#stats.accepted > acceptedBefore) this.#stats.ambiguousSubmits++;
    return this.#damage(reply, faults.request);
  }

  query(authorization: string | undefined, body: unknown): SimReply {
    const key = bearerOf(authorization);
    const denied = this.#authenticate('query', key);
    if (denied || key === null) return denied ?? this.#missingKey('query');
    const label = keyLabel(key);
    const now = this.now();
    const taskId = fieldOf(body, 'taskId');
    const readable = taskId !== null && TASK_ID_PATTERN.test(taskId);
    const found = readable ? this.#tasks.get(taskId) : undefined;
    // Another key's task is as unknown as a task that never existed.
    const task = found?.keyLabel === label ? found : undefined;
    if (task) task.queries++;
    this.#stats.queried(task ? task.queries : null);
    const faults = this.#nextFaults('query');
    const rejected = this.#rejectByFault('query', faults.request);
    if (rejected) return this.#vary(rejected);
    if (!readable) return this.#damage(this.#vary(errorReply('query', '1007')), faults.request);
    if (!task || faults.request?.kind === 'unknownTask') {
      return this.#damage(this.#vary(taskNotFoundReply(taskId)), faults.request);
    }
    return this.#damage(
      this.#vary({ status: 200, body: taskBody(task, now, this.#resultLinks()) }),
      faults.request,
    );
  }

  upload(
    authorization: string | undefined,
    file: { bytes: Buffer; tooLarge: boolean } | null,
  ): SimReply {
    const key = bearerOf(authorization);
    const denied = this.#authenticate('upload', key);
    if (denied || key === null) return denied ?? this.#missingKey('upload');
    this.#stats.uploads++;
    const faults = this.#nextFaults('upload');
    const rejected = this.#rejectByFault('upload', faults.request);
    if (rejected) return rejected;
    if (!file) return errorReply('upload', '301', 'PARAMS_INVALID: multipart field "file"');
    if (file.tooLarge) {
      const mb = Math.round(this.#opts.maxUploadBytes / 1024 / 1024);
      return errorReply('upload', '301', `FILE_TOO_LARGE: at most ${mb} MB`);
    }
    const kind = sniffAudio(file.bytes);
    if (!kind) return errorReply('upload', '301', 'UNSUPPORTED_FILE_TYPE: MP3 or WAV only');
    const stored = this.#uploads.add(file.bytes, kind);
    const body = {
      code: 0,
      message: 'success',
      data: {
        download_url: `${this.baseUrl}/media/${stored.id}.${stored.extension}`,
        type: 'audio',
        size: stored.bytes.length,
        fileName: stored.fileName,
      },
    };
    return this.#damage({ status: 200, body }, faults.request);
  }

  /** v1 cancel: the key travels in the body. */
  cancel(body: unknown): SimReply {
    const key = fieldOf(body, 'apiKey');
    const denied = this.#authenticate('cancel', key);
    if (denied || key === null) return denied ?? this.#missingKey('cancel');
    const now = this.now();
    this.#stats.cancels++;
    const faults = this.#nextFaults('cancel');
    const rejected = this.#rejectByFault('cancel', faults.request);
    if (rejected) return rejected;
    const taskId = fieldOf(body, 'taskId');
    const task = taskId === null ? undefined : this.#tasks.get(taskId);
    if (!task || task.keyLabel !== keyLabel(key)) {
      return errorReply('cancel', '1007', 'TASK_NOT_FOUND');
    }
    if (finishedAt(task, now) !== null) {
      return { status: 200, body: { code: 1, msg: 'TASK_ALREADY_FINISHED', data: null } };
    }
    task.cancelledAt = now;
    this.#callbacks.taskEnds(task, now);
    return this.#damage(
      { status: 200, body: { code: 0, msg: 'success', data: null } },
      faults.request,
    );
  }

  /** A result file: 403 for a bad signature, 410 once the link expired. */
  async file(name: string, expires: string | undefined, sig: string | undefined) {
    const [, taskId, extension] = /^(\d+)\.(wav|mp3)$/.exec(name) ?? [];
    if (!taskId) return { status: 404 } as const;
    const check = this.#links.check(taskId, expires, sig, this.now());
    if (check === 'forbidden') return { status: 403 } as const;
    if (check === 'expired') return { status: 410 } as const;
    const task = this.#tasks.get(taskId);
    if (!task || statusAt(task, this.now()) !== 'SUCCESS') return { status: 404 } as const;
    if (extension !== task.speech.format) return { status: 404 } as const;
    this.#stats.fileDownloads++;
    const bytes = await this.#audio.render(task.speech, taskId);
    return { status: 200, bytes, contentType: CONTENT_TYPES[task.speech.format] } as const;
  }

  media(name: string): StoredUpload | undefined {
    const id = /^([0-9a-f]{32})\.(wav|mp3)$/.exec(name)?.[1];
    return id ? this.#uploads.get(id) : undefined;
  }

  // --- control ------------------------------------------------------------------------

  /** Changes what is given, keeps the rest. Throws a ZodError for a bad scenario. */
  setScenario(input: Scenario): void {
    const s = scenarioSchema.parse(input);
    const o = this.#opts;
    if (s.maxInFlight !== undefined) o.maxInFlight = s.maxInFlight;
    if (s.durations) o.durations = { ...o.durations, ...s.durations };
    if (s.linkTtlMs !== undefined) o.linkTtlMs = s.linkTtlMs;
    if (s.duplicateVoiceId !== undefined) o.duplicateVoiceId = s.duplicateVoiceId;
    if (s.voiceTtlMs !== undefined) o.voiceTtlMs = s.voiceTtlMs;
    if (s.voiceMissingAt !== undefined) o.voiceMissingAt = s.voiceMissingAt;
    if (s.keyErrors) o.keyErrors = s.keyErrors;
    if (s.faults) o.faults = s.faults;
    if (s.faultsByEndpoint) o.faultsByEndpoint = s.faultsByEndpoint;
    if (s.slowResponseMs !== undefined) o.slowResponseMs = s.slowResponseMs;
    if (s.retryAfterS !== undefined) o.retryAfterS = s.retryAfterS;
    if (s.taskFailCode !== undefined) o.taskFailCode = s.taskFailCode;
    if (s.shapeVariety !== undefined) o.shapeVariety = s.shapeVariety;
    if (s.callbackEventData !== undefined) o.callbackEventData = s.callbackEventData;
    if (s.callbackLateMs !== undefined) o.callbackLateMs = s.callbackLateMs;
    if (s.callbackAttempts !== undefined) o.callbackAttempts = s.callbackAttempts;
    if (s.callbackBackoffMs !== undefined) o.callbackBackoffMs = s.callbackBackoffMs;
    if (s.callbackTimeoutMs !== undefined) o.callbackTimeoutMs = s.callbackTimeoutMs;
    if (s.seed !== undefined) {
      o.seed = s.seed;
      this.#seedStreams(s.seed);
    }
    for (const [endpoint, entries] of Object.entries(s.script ?? {})) {
      this.#scripts.set(endpoint as SimEndpoint, (entries ?? []).map(toFault));
    }
  }

  scenario(): CurrentScenario {
    const o = this.#opts;
    return {
      maxInFlight: o.maxInFlight,
      durations: { ...o.durations },
      linkTtlMs: o.linkTtlMs,
      duplicateVoiceId: o.duplicateVoiceId,
      voiceTtlMs: o.voiceTtlMs,
      voiceMissingAt: o.voiceMissingAt,
      keyErrors: Object.fromEntries(Object.entries(o.keyErrors).map(([k, c]) => [keyLabel(k), c])),
      faults: { ...o.faults },
      faultsByEndpoint: { ...o.faultsByEndpoint },
      script: Object.fromEntries([...this.#scripts].map(([e, q]) => [e, [...q]])),
      slowResponseMs: o.slowResponseMs,
      retryAfterS: o.retryAfterS,
      taskFailCode: o.taskFailCode,
      shapeVariety: o.shapeVariety,
      callbackEventData: o.callbackEventData,
      callbackLateMs: o.callbackLateMs,
      callbackAttempts: o.callbackAttempts,
      callbackBackoffMs: o.callbackBackoffMs,
      callbackTimeoutMs: o.callbackTimeoutMs,
      seed: o.seed,
    };
  }

  /**
   * Back to the start: no tasks, uploads, pending callbacks or statistics; the initial
   * scenario and seed. Callbacks being sent are cut.
   */
  reset(): void {
    this.#opts = { ...this.#initial };
    this.#tasks.clear();
    this.#uploads.clear();
    this.#voices.clear();
    this.#audio.clearBacklog();
    this.#callbacks.clear();
    this.#callbackForms = 0;
    this.#stats = new StatsCollector();
    this.#scripts.clear();
    this.#seedStreams(this.#initial.seed);
    this.setScenario({ script: this.#initial.script });
  }

  /** Sends the callbacks due by the clock now and waits for their answers (see callbacks.ts). */
  flushCallbacks(): Promise<number> {
    return this.#callbacks.flush();
  }

  /** Stops sending callbacks: pending ones are dropped, those in flight cut. */
  closeCallbacks(): Promise<void> {
    return this.#callbacks.close();
  }

  stats(): SimStats {
    const now = this.now();
    const byStatus: Record<string, number> = {};
    for (const task of this.#tasks.all()) {
      const status = statusAt(task, now);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    return this.#stats.snapshot(
      this.#tasks.inFlightByKey(now),
      byStatus,
      now,
      this.#callbacks.stats(),
    );
  }

  tasks(): SimTaskView[] {
    const now = this.now();
    return Array.from(this.#tasks.all(), (task) => this.#view(task, now));
  }

  task(taskId: string): SimTaskView | null {
    const task = this.#tasks.get(taskId);
    return task ? this.#view(task, this.now()) : null;
  }

  /** Drops a task as if it had expired upstream: its queries answer 1004 from now on. */
  forget(taskId: string): boolean {
    return this.#tasks.delete(taskId);
  }

  /** The cloned voices of every key, alive or forgotten (system voices are not listed). */
  voices(): SimVoiceView[] {
    return this.#voices.list(this.now(), this.#opts.voiceTtlMs);
  }

  /** Forgets a cloned voice now, as upstream does after its TTL; false if no key has it. */
  forgetVoice(voiceId: string): boolean {
    return this.#voices.forget(voiceId);
  }

  // --- internals ----------------------------------------------------------------------

  #seedStreams(seed: number): void {
    this.#durationRandom = stream(seed, 'durations');
    this.#faultRandom = stream(seed, 'faults');
    this.#shapeRandom = stream(seed, 'shapes');
    this.#callbackRandom = stream(seed, 'callbacks');
    this.#callbackShapeRandom = stream(seed, 'callback-shapes');
  }

  /** What a query would answer now, in a shape of its own (callbacks vary like queries). */
  #callbackQueryBody(task: SimTask, now: number): Record<string, unknown> {
    const body = taskBody(task, now, this.#resultLinks());
    const p = this.#opts.shapeVariety;
    return p > 0 ? varyShape(body, this.#callbackShapeRandom, p) : body;
  }

  #resultLinks(): ResultLinks {
    return {
      baseUrl: this.baseUrl,
      signer: this.#links,
      ttlMs: this.#opts.linkTtlMs,
    };
  }

  #view(task: SimTask, now: number): SimTaskView {
    const status = statusAt(task, now);
    return {
      taskId: task.taskId,
      key: task.keyLabel,
      kind: task.kind,
      customVoiceId: task.customVoiceId,
      model: task.model,
      textLength: task.textLength,
      status,
      errorCode: status === 'FAILED' ? (task.failCode ?? '') : '',
      createdAt: task.createdAt,
      runningAt: task.runningAt,
      finishesAt: task.finishesAt,
      finishedAt: finishedAt(task, now),
      queries: task.queries,
      consumeMoney: status === 'SUCCESS' ? task.price : null,
    };
  }

  /** A v2 answer (submit, query) in one of the shapes upstream uses, per `shapeVariety`. */
  #vary(reply: SimReply): SimReply {
    const p = this.#opts.shapeVariety;
    const body = reply.body;
    if (p <= 0 || !body || typeof body !== 'object' || !('taskId' in body)) return reply;
    return { ...reply, body: varyShape(body as Record<string, unknown>, this.#shapeRandom, p) };
  }

  #authenticate(endpoint: SimEndpoint, key: string | null): SimReply | null {
    if (key === null) return null;
    const allowed = this.#opts.apiKeys;
    if (allowed && !allowed.some((k) => sameSecret(k, key))) {
      return errorReply(endpoint, '802');
    }
    return null;
  }

  #missingKey(endpoint: SimEndpoint): SimReply {
    // The v1 cancel carries its key in the body, so a missing one is a business error there.
    if (endpoint === 'cancel') return errorReply('cancel', '801');
    return { ...errorReply(endpoint, '801'), status: 401 };
  }

  #probabilities(endpoint: SimEndpoint): FaultProbabilities {
    return { ...this.#opts.faults, ...this.#opts.faultsByEndpoint[endpoint] };
  }

  /**
   * A script entry, else faults drawn by probability. A callback fault is drawn later, only
   * for a task that has a webhook (see #callbackFault).
   */
  #nextFaults(endpoint: SimEndpoint): RequestFaults {
    const none: RequestFaults = { request: null, task: null, callback: null };
    const queued = this.#scripts.get(endpoint)?.shift();
    if (queued) {
      if (queued.kind === 'none') return none;
      if (queued.kind === 'taskFail' || queued.kind === 'taskNeverFinishes') {
        return { ...none, task: queued };
      }
      if (isCallbackFault(queued)) return { ...none, callback: queued };
      return { ...none, request: queued };
    }
    return {
      ...drawFaults(this.#faultRandom, this.#probabilities(endpoint), endpoint),
      callback: null,
    };
  }

  #callbackFault(endpoint: SimEndpoint, scripted: CallbackFault | null): CallbackFault | null {
    const fault =
      scripted ?? drawCallbackFault(this.#callbackRandom, this.#probabilities(endpoint));
    if (fault) this.#stats.injected(faultLabel(fault));
    return fault;
  }

  #submissionOf(body: unknown, model: SpeechModel | null): Submission | string {
    const submission = model === null ? this.#cloneOf(body) : this.#speechOf(body, model);
    if (typeof submission === 'string') return submission;
    const webhook = webhookUrlOf(body);
    return 'error' in webhook ? webhook.error : { ...submission, webhookUrl: webhook.url };
  }

  /** HTTP and code faults answer instead of the service; others are applied afterwards. */
  #rejectByFault(endpoint: SimEndpoint, fault: Fault | null): SimReply | null {
    if (fault?.kind === 'http') {
      this.#stats.injected(faultLabel(fault));
      if (fault.status === 429) {
        const retryAfter = String(fault.retryAfterS ?? this.#opts.retryAfterS);
        return {
          status: 429,
          body: { message: 'Too Many Requests' },
          headers: { 'retry-after': retryAfter },
        };
      }
      // Gateways answer 502/503/504 with an HTML page, not the API's JSON.
      if (fault.status >= 502 && fault.status <= 504) {
        return { status: fault.status, body: `<html><body>${fault.status}</body></html>` };
      }
      return { status: fault.status, body: { errorCode: String(fault.status), errorMessage: '' } };
    }
    if (fault?.kind === 'code') {
      this.#stats.injected(faultLabel(fault));
      return errorReply(endpoint, fault.code, fault.message);
    }
    return null;
  }

  #damage(reply: SimReply, fault: Fault | null): SimReply {
    if (!fault) return reply;
    if (fault.kind === 'malformedJson' || fault.kind === 'truncatedJson') {
      this.#stats.injected(faultLabel(fault));
      return { ...reply, damage: fault.kind };
    }
    if (fault.kind === 'slow') {
      this.#stats.injected(faultLabel(fault));
      return { ...reply, delayMs: fault.delayMs ?? this.#opts.slowResponseMs };
    }
    if (fault.kind === 'unknownTask') this.#stats.injected(faultLabel(fault));
    return reply;
  }

  #cloneOf(body: unknown): Submission | string {
    const parsed = this.#schema.safeParse(body);
    if (!parsed.success) return paramsInvalid(parsed.error);
    const params = parsed.data;
    const format = this.#audio.format;
    return {
      kind: 'voice_clone',
      text: params.text,
      voiceId: params.custom_voice_id,
      model: params.model,
      price: formatPrice(this.#opts.prices.voiceClonePerCall),
      timbre: timbreOfClone(params),
      speech: (text) => speechOfVoiceClone(params, text, format),
      webhookUrl: null,
    };
  }

  #speechOf(body: unknown, model: SpeechModel): Submission | string {
    const parsed = this.#speechSchema.safeParse(withModel(body, model));
    if (!parsed.success) return paramsInvalid(parsed.error);
    const params = parsed.data;
    const format = this.#audio.format;
    const cost = estimateTaskCost(this.#opts.prices, { kind: 'speech', model, text: params.text });
    return {
      kind: 'speech',
      text: params.text,
      voiceId: params.voice_id,
      model,
      price: formatPrice(cost),
      timbre: null,
      speech: (text, timbre) => speechOfSpeech(params, text, timbre, format),
      webhookUrl: null,
    };
  }

  #eventDataForm(): 'string' | 'object' {
    const form = this.#opts.callbackEventData;
    if (form !== 'alternate') return form;
    return this.#callbackForms++ % 2 === 0 ? 'string' : 'object';
  }

  /** A system voice, or a clone of this key alive now; null: upstream has no such voice. */
  #voiceOf(label: string, voiceId: string, now: number): Timbre | null {
    if (SYSTEM_VOICE_NAMES.has(voiceId)) return timbreOfSystemVoice(voiceId);
    return this.#voices.lookup(label, voiceId, now, this.#opts.voiceTtlMs);
  }

  #accept(
    endpoint: 'submit' | 'speech',
    key: string,
    label: string,
    submission: Submission | string,
    print: string,
    faults: RequestFaults,
    now: number,
  ): SimReply {
    const taskFault = faults.task;
    const reject = (code: string, message?: string): SimReply => {
      this.#stats.rejectedSubmit(code);
      return errorReply(endpoint, code, message);
    };
    const keyError = this.#opts.keyErrors[key];
    if (keyError) return reject(keyError);
    if (typeof submission === 'string') return reject('301', submission);
    let markers: ReturnType<typeof parseMarkers>;
    try {
      markers = parseMarkers(submission.text);
    } catch (error) {
      if (error instanceof MarkerError) return reject('301', `PARAMS_INVALID: ${error.message}`);
      throw error;
    }
    if (markers.submitCode) return reject(markers.submitCode);
    if (this.#tasks.inFlight(label, now) >= this.#opts.maxInFlight) return reject('421');

    const voice = submission.voiceId;
    // A speech call's voice is looked up now: one forgotten while the task runs does not fail it.
    let timbre = submission.timbre;
    if (submission.kind === 'speech') {
      timbre = this.#voiceOf(label, voice, now);
      if (!timbre && this.#opts.voiceMissingAt === 'submit') return reject('2054');
    }

    const textLength = Array.from(markers.text).length;
    const { baseMs, perCharMs, sigma } = this.#opts.durations;
    // Drawn even when a marker fixes the duration, so later tasks keep their durations.
    const factor = logNormalFactor(this.#durationRandom, sigma);
    const duration = markers.durationMs ?? Math.round((baseMs + perCharMs * textLength) * factor);
    let failCode = markers.taskCode;
    let never = markers.never;
    if (taskFault) {
      this.#stats.injected(faultLabel(taskFault));
      if (taskFault.kind === 'taskFail') failCode ??= taskFault.code ?? this.#opts.taskFailCode;
      if (taskFault.kind === 'taskNeverFinishes') never = true;
    }
    if (submission.kind === 'speech') {
      if (timbre) this.#voices.touch(label, voice, now);
      else failCode ??= '2054';
    } else if (!failCode && this.#opts.duplicateVoiceId === 'fail-task') {
      if (this.#tasks.voiceHolder(label, voice)) failCode = '2039';
    }
    // A missing voice has no timbre to speak in; its task fails and no audio is ever rendered.
    const speaker = timbre ?? { voice, language: null };
    const task: SimTask = {
      taskId: this.#ids.next(now),
      keyLabel: label,
      kind: submission.kind,
      customVoiceId: voice,
      model: submission.model,
      textLength,
      speech: submission.speech(markers.text, speaker),
      price: submission.price,
      createdAt: now,
      runningAt: now + Math.round(duration * QUEUED_SHARE),
      finishesAt: never ? null : now + duration,
      failCode,
      failMessage: failCode ? messageFor(failCode) : null,
      cancelledAt: null,
      queries: 0,
      webhook: submission.webhookUrl
        ? {
            url: submission.webhookUrl,
            eventData: this.#eventDataForm(),
            fault: this.#callbackFault(endpoint, faults.callback),
          }
        : null,
    };
    const succeeds = !failCode && !never;
    this.#tasks.add(task, submission.kind === 'voice_clone' && !failCode, now);
    if (succeeds && submission.kind === 'voice_clone' && timbre) {
      this.#voices.addClone(task, timbre);
    }
    // Rendered while the task runs, as upstream does, in the pool: the submit answers now.
    if (succeeds) this.#audio.prefetch(task.speech, task.taskId);
    this.#stats.acceptedTask(print, task, succeeds, this.#tasks.inFlight(label, now));
    if (task.finishesAt !== null) this.#callbacks.taskEnds(task, task.finishesAt);
    return { status: 200, body: taskBody(task, now, this.#resultLinks()) };
  }
}
