import type { ErrorKind } from './errors.js';

export interface Classification {
  kind: ErrorKind;
  reason: string;
  retryAfterMs: number | null;
  alertOperator: boolean;
}

interface Row {
  kind: ErrorKind;
  reason: string;
  alertOperator?: boolean;
  /** A suggested wait, drawn per error so a fleet of workers does not come back at once. */
  retryAfter?: { minMs: number; maxMs: number };
}

const fatal = (reason: string, alertOperator = false): Row => ({
  kind: 'fatal',
  reason,
  alertOperator,
});
const retryable = (reason: string): Row => ({ kind: 'retryable', reason });
const backpressure = (reason: string, retryAfter?: Row['retryAfter']): Row =>
  retryAfter ? { kind: 'backpressure', reason, retryAfter } : { kind: 'backpressure', reason };

// The contract's error table, row by row (runninghub-contract.md, "Errors").
const UPSTREAM_CODES: Record<string, Row> = {
  '301': fatal('invalid parameters'),
  '412': fatal('invalid parameters'),
  '1007': fatal('invalid request body'),
  '1009': fatal('invalid parameters'),
  '433': fatal('invalid parameters'),
  '803': fatal('invalid parameters'),
  '2013': fatal('prompt invalid'),
  // "no free dedicated instance": upstream advises coming back in 30-120 s.
  '415': backpressure('no free instance', { minMs: 30_000, maxMs: 120_000 }),
  '416': fatal('balance too low', true),
  '812': fatal('insufficient funds', true),
  // Over the per-key limit; the slot frees when one of the key's tasks ends, not after a time.
  '421': backpressure('concurrency limit reached'),
  '1520': backpressure('concurrency limit reached'),
  '802': fatal('API key invalid or unauthorized', true),
  '811': fatal('API key invalid or unauthorized', true),
  '1002': fatal('API key invalid or unauthorized', true),
  '1014': fatal('API key invalid or unauthorized', true),
  '1601': fatal('API key invalid or unauthorized', true),
  '801': fatal('API key invalid or unauthorized', true),
  '1003': retryable('rate limited'),
  '1011': retryable('model busy'),
  '500': retryable('upstream internal error'),
  '1005': retryable('upstream internal error'),
  '1010': retryable('upstream internal error'),
  '1012': retryable('upstream internal error'),
  '1004': fatal('task not found or expired'),
  // The task failed, the job may run again: the caller's attempt budget decides.
  '1006': retryable('task execution timeout'),
  '1501': fatal('content moderation'),
  '1505': fatal('real person prohibited'),
  '1043': fatal('voice clone rejected (ASR similarity)'),
  '1044': fatal('voice clone rejected (prompt similarity)'),
  '2037': fatal('voice clone rejected (reference audio duration)'),
  '2038': fatal('voice clone not permitted'),
  '2039': fatal('voice clone rejected (duplicate voice id)'),
  '2042': fatal('voice clone not permitted (voice id access)'),
  '2048': fatal('voice clone rejected (reference audio too long)'),
  '20132': fatal('voice clone rejected (invalid sample or voice id)'),
};

function draw(range: Row['retryAfter']): number | null {
  if (!range) return null;
  return Math.round(range.minMs + Math.random() * (range.maxMs - range.minMs));
}

/** Normalises an upstream code ("421", 421, " 421 ") to its string form. */
export function normaliseCode(code: string | number | null | undefined): string {
  if (code === null || code === undefined) return '';
  return String(code).trim();
}

/**
 * Classifies an upstream errorCode/code. Unknown codes are retryable: upstream adds codes
 * without notice, and the worker's bounded attempts turn a permanent one into a dead letter.
 */
export function classifyUpstreamCode(code: string | number): Classification {
  const row = UPSTREAM_CODES[normaliseCode(code)];
  if (!row) {
    return {
      kind: 'retryable',
      reason: 'unknown upstream code',
      retryAfterMs: null,
      alertOperator: false,
    };
  }
  return {
    kind: row.kind,
    reason: row.reason,
    retryAfterMs: draw(row.retryAfter),
    alertOperator: row.alertOperator ?? false,
  };
}

// A query naming a task upstream does not know (1004: unknown or expired; 1007: an id it cannot
// read) is answered so again and again: the line needs a decision, not more queries (contract).
const TASK_LOST_CODES = new Set(['1004', '1007']);

/** Whether a query answered with this code means upstream has no such task (see taskLost). */
export function isTaskLostCode(code: string | number): boolean {
  return TASK_LOST_CODES.has(normaliseCode(code));
}

/** The codes of the contract's table, for tests and dashboards. */
export const KNOWN_UPSTREAM_CODES: readonly string[] = Object.keys(UPSTREAM_CODES);

/** HTTP status of a response that is not a 2xx. 400/401/403 must not be retried (contract). */
export function classifyHttpStatus(status: number, retryAfterMs: number | null): Classification {
  const base = { retryAfterMs: null, alertOperator: false };
  if (status === 429) return { ...base, kind: 'retryable', reason: 'rate limited', retryAfterMs };
  if (status >= 500) {
    return { ...base, kind: 'retryable', reason: `upstream HTTP ${status}`, retryAfterMs };
  }
  if (status === 401 || status === 403) {
    return { kind: 'fatal', reason: 'API key rejected', retryAfterMs: null, alertOperator: true };
  }
  if (status === 408) return { ...base, kind: 'retryable', reason: 'upstream request timeout' };
  if (status >= 300 && status < 400) {
    // Redirects are not followed: a redirect could downgrade to http or leave the host
    // with our key. It means the base URL is wrong, which an operator must fix.
    return { ...base, kind: 'fatal', reason: 'unexpected redirect', alertOperator: true };
  }
  return { ...base, kind: 'fatal', reason: `upstream HTTP ${status}` };
}

const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * `retry-after` as delta-seconds or an HTTP date (RFC 9110 10.2.3); null when absent or
 * unreadable. Capped so a hostile or buggy value cannot park a job for days.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return null;
  const trimmed = text.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return null;
    ms = date - now;
  }
  return Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
}
