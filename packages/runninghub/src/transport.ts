import {
  classifyHttpStatus,
  classifyUpstreamCode,
  isTaskLostCode,
  parseRetryAfter,
} from './classify.js';
import { createsTask, type Endpoint, RunningHubError } from './errors.js';
import { parseJsonKeepingBigIntegers } from './json.js';
import { isVoiceMissing, VOICE_MISSING_CLASSIFICATION } from './voice-missing.js';

/** How much of an unparseable body an error keeps: enough to recognise an HTML error page. */
const RAW_TEXT_LIMIT = 2_000;

// Failures that happen before a request can have reached upstream.
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function neverSent(code: string | undefined): boolean {
  if (code === undefined) return false;
  // A failed TLS handshake comes before any byte of the request.
  return NEVER_SENT_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

function errorCodeOf(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A request that got no complete HTTP response. Always retryable; the worker bounds it. */
export function transportError(
  endpoint: Endpoint,
  error: unknown,
  timedOut: boolean,
): RunningHubError {
  const code = errorCodeOf(error);
  const name = error instanceof Error ? error.name : '';
  const isTimeout =
    timedOut || (code !== undefined && TIMEOUT_CODES.has(code)) || name === 'TimeoutError';
  return new RunningHubError({
    kind: 'retryable',
    code: isTimeout ? 'TIMEOUT' : 'NETWORK',
    reason: isTimeout
      ? code === 'UND_ERR_CONNECT_TIMEOUT'
        ? 'connect timeout'
        : 'request timeout'
      : `network error${code ? ` (${code})` : ''}`,
    httpStatus: null,
    retryAfterMs: null,
    alertOperator: false,
    endpoint,
    raw: null,
    ambiguous: createsTask(endpoint) && !neverSent(code),
    cause: error,
  });
}

export function malformed(
  endpoint: Endpoint,
  httpStatus: number,
  raw: unknown,
  why: string,
): RunningHubError {
  return new RunningHubError({
    kind: 'retryable',
    code: 'MALFORMED_RESPONSE',
    reason: `malformed response: ${why}`,
    httpStatus,
    retryAfterMs: null,
    alertOperator: false,
    endpoint,
    raw,
    ambiguous: createsTask(endpoint),
  });
}

/** Parses a JSON body, or throws MALFORMED_RESPONSE keeping the start of the text. */
export function parseBody(endpoint: Endpoint, httpStatus: number, text: string): unknown {
  try {
    return parseJsonKeepingBigIntegers(text);
  } catch {
    const why = text.trim() === '' ? 'empty body' : 'invalid or truncated JSON';
    throw malformed(endpoint, httpStatus, text.slice(0, RAW_TEXT_LIMIT), why);
  }
}

function field(body: unknown, names: string[]): string {
  if (!body || typeof body !== 'object') return '';
  for (const name of names) {
    const value = (body as Record<string, unknown>)[name];
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  return '';
}

/**
 * A non-2xx answer. Classified by status; an upstream code in the body goes in the message.
 * With `voiceMissingCodes` (submits), a body saying the voice is unknown wins.
 */
export function httpError(
  endpoint: Endpoint,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  voiceMissingCodes: readonly string[] | null = null,
): RunningHubError {
  let raw: unknown;
  try {
    raw = parseJsonKeepingBigIntegers(text);
  } catch {
    raw = text.slice(0, RAW_TEXT_LIMIT);
  }
  const upstreamCode = field(raw, ['errorCode', 'code']);
  const upstreamMessage = field(raw, ['errorMessage', 'message', 'msg']);
  const voiceMissing =
    voiceMissingCodes !== null && isVoiceMissing(upstreamCode, upstreamMessage, voiceMissingCodes);
  const c = voiceMissing
    ? VOICE_MISSING_CLASSIFICATION
    : classifyHttpStatus(status, parseRetryAfter(headers['retry-after']));
  return new RunningHubError({
    ...c,
    code: `HTTP_${status}`,
    httpStatus: status,
    endpoint,
    raw,
    voiceMissing,
    // A gateway's 502/504 may hide an upstream that accepted the request.
    ambiguous: createsTask(endpoint) && !voiceMissing && (status === 502 || status === 504),
    upstreamMessage: [upstreamCode && `upstream code ${upstreamCode}`, upstreamMessage]
      .filter(Boolean)
      .join(' ')
      .slice(0, 300),
  });
}

/**
 * An HTTP 200 whose body carries a non-empty errorCode (v2) or a non-zero code (media, v1).
 * With `voiceMissingCodes` (submits), "no such voice" is recognised and final.
 */
export function upstreamCodeError(
  endpoint: Endpoint,
  code: string,
  message: string,
  raw: unknown,
  voiceMissingCodes: readonly string[] | null = null,
): RunningHubError {
  const voiceMissing =
    voiceMissingCodes !== null && isVoiceMissing(code, message, voiceMissingCodes);
  return new RunningHubError({
    ...(voiceMissing ? VOICE_MISSING_CLASSIFICATION : classifyUpstreamCode(code)),
    code,
    httpStatus: 200,
    endpoint,
    raw,
    voiceMissing,
    upstreamMessage: message,
    taskLost: endpoint === 'query' && isTaskLostCode(code),
  });
}
