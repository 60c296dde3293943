import { z } from 'zod';
import { classifyUpstreamCode, normaliseCode } from './classify.js';
import { type Endpoint, RunningHubError } from './errors.js';
import {
  DEFAULT_VOICE_MISSING_CODES,
  isVoiceMissing,
  VOICE_MISSING_CLASSIFICATION,
} from './voice-missing.js';

export const TERMINAL_STATUSES = ['SUCCESS', 'FAILED', 'CANCEL'] as const;
export const NON_TERMINAL_STATUSES = ['CREATE', 'QUEUED', 'RUNNING'] as const;

export interface TaskResult {
  url: string | null;
  outputUrl: string | null;
  outputType: string | null;
  text: string | null;
  nodeId: string | null;
}

/**
 * What a task cost, as upstream reported it. Each field is upstream's text (a JSON number
 * becomes its decimal string, as `String` writes it), or null when upstream left the field
 * out, sent null or sent something that is not a scalar: upstream does all of these
 * (runninghub-contract.md, query). Fields upstream adds stay in `raw`.
 */
export interface Usage {
  consumeMoney: string | null;
  consumeCoins: string | null;
  taskCostTime: string | null;
  thirdPartyConsumeMoney: string | null;
}

export interface TaskResponse {
  taskId: string;
  /** CREATE | QUEUED | RUNNING | SUCCESS | FAILED | CANCEL, or whatever upstream invents next. */
  status: string;
  terminal: boolean;
  /** '' when fine; numeric codes normalised to strings. */
  errorCode: string;
  errorMessage: string;
  results: TaskResult[];
  /**
   * The first result's url, else its outputUrl (contract: "falling back to outputUrl"); its
   * type is the result's outputType, trimmed and lower-cased, or the URL's file extension.
   */
  audio: { url: string; type: string | null } | null;
  usage: Usage | null;
  /** The parsed JSON as received (big integers as strings); keep it on the job for debugging. */
  raw: unknown;
}

const scalar = z.union([z.string(), z.number()]);

// Tolerant on purpose: unknown fields pass, codes may be numbers, most fields may be absent.
const resultSchema = z
  .object({
    url: z.string().nullish(),
    outputUrl: z.string().nullish(),
    outputType: scalar.nullish(),
    text: z.string().nullish(),
    nodeId: scalar.nullish(),
  })
  .loose();

// Cost fields only inform: an answer whose audio is there (and paid for) is not refused over
// one of them, whatever its type; an unreadable field reads null.
const usageField = scalar.nullish().catch(null);
const usageSchema = z
  .object({
    consumeMoney: usageField,
    consumeCoins: usageField,
    taskCostTime: usageField,
    thirdPartyConsumeMoney: usageField,
  })
  .loose();

export const taskResponseBodySchema = z
  .object({
    taskId: scalar.nullish(),
    status: z.string().nullish(),
    errorCode: scalar.nullish(),
    errorMessage: scalar.nullish(),
    results: z.array(resultSchema).nullish(),
    clientId: z.string().nullish(),
    promptTips: z.string().nullish(),
    failedReason: z.unknown().optional(),
    usage: usageSchema.nullish().catch(null),
  })
  .loose();

type TaskBody = z.infer<typeof taskResponseBodySchema>;

const text = (value: string | number | null | undefined): string | null =>
  value === null || value === undefined ? null : String(value);

export function isTerminalStatus(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

function audioOf(results: TaskResult[]): TaskResponse['audio'] {
  for (const result of results) {
    const url = result.url || result.outputUrl;
    if (url) return { url, type: result.outputType?.trim().toLowerCase() || typeFromUrl(url) };
  }
  return null;
}

function typeFromUrl(url: string): string | null {
  try {
    const match = /\.([a-z0-9]{2,5})$/i.exec(new URL(url).pathname);
    return match?.[1] ? match[1].toLowerCase() : null;
  } catch {
    return null;
  }
}

/** Builds the client's view of a submit or query body that passed the schema. */
export function toTaskResponse(body: TaskBody, raw: unknown): TaskResponse {
  const results: TaskResult[] = (body.results ?? []).map((r) => ({
    url: r.url ?? null,
    outputUrl: r.outputUrl ?? null,
    outputType: text(r.outputType),
    text: r.text ?? null,
    nodeId: text(r.nodeId),
  }));
  const status = (body.status ?? '').trim().toUpperCase();
  return {
    taskId: text(body.taskId)?.trim() ?? '',
    status,
    terminal: isTerminalStatus(status),
    errorCode: normaliseCode(body.errorCode),
    errorMessage: text(body.errorMessage) ?? '',
    results,
    audio: audioOf(results),
    usage: body.usage
      ? {
          consumeMoney: text(body.usage.consumeMoney),
          consumeCoins: text(body.usage.consumeCoins),
          taskCostTime: text(body.usage.taskCostTime),
          thirdPartyConsumeMoney: text(body.usage.thirdPartyConsumeMoney),
        }
      : null,
    raw,
  };
}

function failedReasonText(raw: unknown): string {
  if (!raw || typeof raw !== 'object' || !('failedReason' in raw)) return '';
  const reason = (raw as { failedReason: unknown }).failedReason;
  if (typeof reason === 'string') return reason;
  if (reason && typeof reason === 'object') {
    const message = (reason as Record<string, unknown>).exception_message;
    if (typeof message === 'string') return message;
    return JSON.stringify(reason).slice(0, 500);
  }
  return '';
}

/**
 * The error for a task that ended FAILED or CANCEL upstream, classified by its code. A
 * failure without a code is retryable (unknown cause, bounded by the caller's attempts); a
 * cancel we did not ask for (someone used the console) is final. A speech task that failed
 * because upstream does not know its voice (a code of `voiceMissingCodes`, or the message) is
 * `voiceMissing` and final. RunningHubClient.failureOf passes the client's configured codes.
 */
export function errorFromFailedTask(
  task: TaskResponse,
  endpoint: Endpoint = 'query',
  voiceMissingCodes: readonly string[] = DEFAULT_VOICE_MISSING_CODES,
): RunningHubError {
  const upstreamMessage = task.errorMessage || failedReasonText(task.raw);
  if (isVoiceMissing(task.errorCode, upstreamMessage, voiceMissingCodes)) {
    return new RunningHubError({
      ...VOICE_MISSING_CLASSIFICATION,
      code: task.errorCode || null,
      httpStatus: null,
      endpoint,
      raw: task.raw,
      upstreamMessage,
      voiceMissing: true,
    });
  }
  if (task.errorCode) {
    const c = classifyUpstreamCode(task.errorCode);
    return new RunningHubError({
      ...c,
      code: task.errorCode,
      httpStatus: null,
      endpoint,
      raw: task.raw,
      upstreamMessage,
    });
  }
  const cancelled = task.status === 'CANCEL';
  return new RunningHubError({
    kind: cancelled ? 'fatal' : 'retryable',
    reason: cancelled ? 'task cancelled upstream' : `task ended ${task.status || 'without status'}`,
    code: null,
    httpStatus: null,
    retryAfterMs: null,
    alertOperator: false,
    endpoint,
    raw: task.raw,
    upstreamMessage,
  });
}
