import { performance } from 'node:perf_hooks';
import { Agent, FormData } from 'undici';
import { normaliseCode } from './classify.js';
import { createsTask, type Endpoint, RunningHubError } from './errors.js';
import { toSubmitBody, type VoiceCloneParams } from './params.js';
import { type SpeechParams, speechPath, toSpeechBody } from './speech.js';
import {
  errorFromFailedTask,
  type TaskResponse,
  taskResponseBodySchema,
  toTaskResponse,
} from './task.js';
import { httpError, malformed, parseBody, transportError, upstreamCodeError } from './transport.js';
import {
  cancelResponseBodySchema,
  sizeOf,
  type UploadResult,
  uploadResponseBodySchema,
} from './upload.js';
import { DEFAULT_VOICE_MISSING_CODES } from './voice-missing.js';

/** The fixed paths; speech has one per model (`speechPath(model)`). */
export const PATHS = {
  submit: '/openapi/v2/rhart-audio/text-to-audio/voice-clone',
  query: '/openapi/v2/query',
  upload: '/openapi/v2/media/upload/binary',
  cancel: '/task/openapi/cancel',
} as const satisfies Record<Exclude<Endpoint, 'speech'>, string>;

export type RequestOutcome = 'ok' | 'retryable' | 'backpressure' | 'fatal';

export interface RequestInfo {
  endpoint: Endpoint;
  durationMs: number;
  httpStatus: number | null;
  errorCode: string | null;
  outcome: RequestOutcome;
}

/** Per-submit options. */
export interface SubmitOptions {
  /**
   * Where upstream POSTs `{event:"TASK_END", taskId, eventData}` when the task ends (read it
   * with parseTaskCallback); left out of the body when absent. http(s) only.
   */
  webhookUrl?: string;
}

export interface RunningHubClientOptions {
  /** e.g. https://www.runninghub.ai; without a scheme https is assumed. */
  baseUrl: string;
  apiKey: string;
  connectTimeoutMs?: number;
  /** Bounds the whole exchange: connect, headers and body. */
  requestTimeoutMs?: number;
  /** Called once per HTTP exchange, for metrics; exceptions thrown by it are ignored. */
  onRequest?: (info: RequestInfo) => void;
  /**
   * Codes meaning "upstream does not know this voice_id" (RUNNINGHUB_VOICE_MISSING_CODES);
   * default ['2054']. MiniMax's message "voice id not exist" means it whatever the code.
   */
  voiceMissingCodes?: readonly string[];
}

const REDACTED = '[redacted]';
// Scrubbing a very short key out of bodies would mangle unrelated text; real keys are long.
const MIN_SCRUBBED_KEY_LENGTH = 8;

interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

type RequestBody = { json: unknown } | { form: FormData };

// A submit that creates a task: voice-clone at its fixed path, speech at its model's.
interface SubmitTarget {
  endpoint: 'submit' | 'speech';
  path: string;
  body: Record<string, unknown>;
}

function resolveBaseUrl(baseUrl: string): URL {
  // A bare host means https: never fall back to plain http on our own.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(baseUrl) ? baseUrl : `https://${baseUrl}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`RunningHub baseUrl must be https (or http for a simulator)`);
  }
  if (url.username || url.password) {
    throw new TypeError('RunningHub baseUrl must not carry credentials');
  }
  return url;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function invalidWebhookUrl(endpoint: Endpoint): RunningHubError {
  return new RunningHubError({
    kind: 'fatal',
    code: null,
    reason: 'webhookUrl must be an http(s) URL',
    httpStatus: null,
    retryAfterMs: null,
    alertOperator: false,
    endpoint,
    raw: null,
  });
}

function contentTypeFor(filename: string): string {
  const lower = filename.toLowerCase();
  if (lower.endsWith('.wav')) return 'audio/wav';
  if (lower.endsWith('.mp3')) return 'audio/mpeg';
  return 'application/octet-stream';
}

/**
 * RunningHub OpenAPI v2 voice clone and speech, typed, with every failure a classified
 * RunningHubError. One instance per process: it holds a keep-alive connection pool.
 */
export class RunningHubClient {
  readonly #origin: string;
  readonly #basePath: string;
  readonly #apiKey: string;
  readonly #requestTimeoutMs: number;
  readonly #agent: Agent;
  readonly #onRequest: RunningHubClientOptions['onRequest'];
  readonly #voiceMissingCodes: readonly string[];
  #closed = false;

  constructor(options: RunningHubClientOptions) {
    if (!options.apiKey) throw new TypeError('RunningHub apiKey is required');
    const base = resolveBaseUrl(options.baseUrl);
    this.#origin = base.origin;
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#onRequest = options.onRequest;
    this.#voiceMissingCodes = [...(options.voiceMissingCodes ?? DEFAULT_VOICE_MISSING_CODES)];
    this.#agent = new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 10_000 },
      // Backstops for the AbortSignal below, so a stalled socket is released as well.
      headersTimeout: this.#requestTimeoutMs,
      bodyTimeout: this.#requestTimeoutMs,
    });
  }

  /** Submits a voice clone. A response that is already SUCCESS comes back terminal. */
  async submitVoiceClone(
    params: VoiceCloneParams,
    options: SubmitOptions = {},
  ): Promise<TaskResponse> {
    return this.#submit(
      { endpoint: 'submit', path: PATHS.submit, body: toSubmitBody(params) },
      options,
    );
  }

  /**
   * Submits a line to the speech endpoint of `params.model`. A response that is already
   * SUCCESS comes back terminal; a voice upstream does not know throws `voiceMissing`.
   */
  async submitSpeech(params: SpeechParams, options: SubmitOptions = {}): Promise<TaskResponse> {
    return this.#submit(
      { endpoint: 'speech', path: speechPath(params.model), body: toSpeechBody(params) },
      options,
    );
  }

  /**
   * The error of a task that ended FAILED or CANCEL (see errorFromFailedTask), recognising a
   * missing voice by this client's voiceMissingCodes.
   */
  failureOf(task: TaskResponse): RunningHubError {
    return errorFromFailedTask(task, 'query', this.#voiceMissingCodes);
  }

  /**
   * Reads a task. FAILED and CANCEL come back as data (status + errorCode; see
   * errorFromFailedTask); a request-level error throws: rate limits and the like, and a task
   * upstream does not have (1004 unknown or expired, 1007 unreadable id) with `taskLost`.
   */
  async queryTask(taskId: string): Promise<TaskResponse> {
    if (!taskId) {
      throw new RunningHubError({
        kind: 'fatal',
        code: null,
        reason: 'taskId is empty',
        httpStatus: null,
        retryAfterMs: null,
        alertOperator: false,
        endpoint: 'query',
        raw: null,
      });
    }
    return this.#measured('query', async (note) => {
      const res = await this.#post('query', PATHS.query, { json: { taskId } });
      note(res.status);
      const task = this.#task('query', res);
      note(res.status, task.errorCode || null);
      if (task.terminal && task.taskId) {
        if (task.taskId !== taskId) {
          throw malformed('query', res.status, task.raw, 'response is for another task');
        }
        return task;
      }
      if (task.errorCode) {
        throw upstreamCodeError('query', task.errorCode, task.errorMessage, task.raw);
      }
      if (!task.taskId) throw malformed('query', res.status, task.raw, 'no taskId');
      if (task.taskId !== taskId) {
        throw malformed('query', res.status, task.raw, 'response is for another task');
      }
      if (!task.status) throw malformed('query', res.status, task.raw, 'no status');
      return task;
    });
  }

  /** Uploads reference audio (MP3/WAV); put `downloadUrl` into VoiceCloneParams.audio. */
  async uploadMedia(
    file: Uint8Array,
    filename: string,
    contentType?: string,
  ): Promise<UploadResult> {
    return this.#measured('upload', async (note) => {
      const form = new FormData();
      // Copied into a fresh ArrayBuffer: Blob wants one, and the caller keeps its buffer.
      const blob = new Blob([new Uint8Array(file)], {
        type: contentType ?? contentTypeFor(filename),
      });
      form.append('file', blob, filename);
      const res = await this.#post('upload', PATHS.upload, { form });
      note(res.status);
      const raw = parseBody('upload', res.status, res.text);
      const parsed = uploadResponseBodySchema.safeParse(raw);
      if (!parsed.success) throw malformed('upload', res.status, raw, 'unexpected shape');
      const code = normaliseCode(parsed.data.code);
      if (code !== '0') {
        note(res.status, code);
        const message = String(parsed.data.message ?? parsed.data.msg ?? '');
        throw upstreamCodeError('upload', code, message, raw);
      }
      const data = parsed.data.data;
      if (!data?.download_url) throw malformed('upload', res.status, raw, 'no download_url');
      return {
        downloadUrl: data.download_url,
        type: data.type === null || data.type === undefined ? null : String(data.type),
        size: sizeOf(data.size),
        fileName: data.fileName ?? null,
        raw,
      };
    });
  }

  /**
   * The legacy v1 cancel. Best effort: never throws; true only when upstream confirmed.
   * Cancelling a job locally must not depend on it (contract, "Cancel").
   */
  async cancelTask(taskId: string): Promise<boolean> {
    try {
      return await this.#measured('cancel', async (note) => {
        // v1 authenticates by the key in the body; the header is sent as for every call.
        const res = await this.#post('cancel', PATHS.cancel, {
          json: { apiKey: this.#apiKey, taskId },
        });
        note(res.status);
        const raw = parseBody('cancel', res.status, res.text);
        const parsed = cancelResponseBodySchema.safeParse(raw);
        if (!parsed.success) throw malformed('cancel', res.status, raw, 'unexpected shape');
        const code = normaliseCode(parsed.data.code);
        if (code !== '0') {
          note(res.status, code);
          throw upstreamCodeError('cancel', code, String(parsed.data.msg ?? ''), raw);
        }
        return true;
      });
    } catch {
      return false;
    }
  }

  /** Closes the connection pool; safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#agent.close();
  }

  async #submit(
    { endpoint, path, body }: SubmitTarget,
    { webhookUrl }: SubmitOptions,
  ): Promise<TaskResponse> {
    const codes = this.#voiceMissingCodes;
    if (webhookUrl !== undefined) {
      // Checked before sending: a submit that went out with a bad address would be paid for
      // and never called back.
      if (!isHttpUrl(webhookUrl)) throw invalidWebhookUrl(endpoint);
      body.webhookUrl = webhookUrl;
    }
    return this.#measured(endpoint, async (note) => {
      const res = await this.#post(endpoint, path, { json: body });
      note(res.status);
      const task = this.#task(endpoint, res);
      note(res.status, task.errorCode || null);
      if (task.errorCode) {
        throw upstreamCodeError(endpoint, task.errorCode, task.errorMessage, task.raw, codes);
      }
      if (task.status === 'FAILED' || task.status === 'CANCEL') {
        throw errorFromFailedTask(task, endpoint, codes);
      }
      if (!task.taskId) throw malformed(endpoint, res.status, task.raw, 'no taskId');
      return task;
    });
  }

  #task(endpoint: Endpoint, res: Exchange): TaskResponse {
    const raw = parseBody(endpoint, res.status, res.text);
    const parsed = taskResponseBodySchema.safeParse(raw);
    if (!parsed.success) throw malformed(endpoint, res.status, raw, 'unexpected shape');
    return toTaskResponse(parsed.data, raw);
  }

  /** Runs one exchange and reports it to onRequest, whatever the outcome. */
  async #measured<T>(
    endpoint: Endpoint,
    run: (note: (httpStatus: number, errorCode?: string | null) => void) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    let httpStatus: number | null = null;
    let errorCode: string | null = null;
    const note = (status: number, code: string | null = null) => {
      httpStatus = status;
      errorCode = code;
    };
    let outcome: RequestOutcome = 'ok';
    try {
      return await run(note);
    } catch (error) {
      if (error instanceof RunningHubError) {
        outcome = error.kind;
        errorCode = error.code;
        httpStatus = error.httpStatus ?? httpStatus;
      } else {
        outcome = 'retryable';
      }
      throw error;
    } finally {
      try {
        this.#onRequest?.({
          endpoint,
          durationMs: performance.now() - started,
          httpStatus,
          errorCode,
          outcome,
        });
      } catch {
        // Metrics must never change the result of a call.
      }
    }
  }

  async #post(endpoint: Endpoint, path: string, body: RequestBody): Promise<Exchange> {
    const signal = AbortSignal.timeout(this.#requestTimeoutMs);
    let exchange: Exchange;
    try {
      const res = await this.#agent.request({
        origin: this.#origin,
        path: `${this.#basePath}${path}`,
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.#apiKey}`,
          accept: 'application/json',
          ...('json' in body ? { 'content-type': 'application/json' } : {}),
        },
        body: 'json' in body ? JSON.stringify(body.json) : body.form,
        signal,
      });
      exchange = {
        status: res.statusCode,
        headers: res.headers,
        text: this.#scrub(await res.body.text()),
      };
    } catch (error) {
      throw transportError(endpoint, error, signal.aborted);
    }
    if (exchange.status < 200 || exchange.status >= 300) {
      const codes = createsTask(endpoint) ? this.#voiceMissingCodes : null;
      throw httpError(endpoint, exchange.status, exchange.headers, exchange.text, codes);
    }
    return exchange;
  }

  /** Upstream might echo the key (the v1 cancel body carries it): it must not reach `raw`. */
  #scrub(text: string): string {
    if (this.#apiKey.length < MIN_SCRUBBED_KEY_LENGTH) return text;
    return text.split(this.#apiKey).join(REDACTED);
  }
}
