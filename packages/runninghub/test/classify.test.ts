import { describe, expect, it } from 'vitest';
import {
  classifyHttpStatus,
  classifyUpstreamCode,
  errorFromFailedTask,
  KNOWN_UPSTREAM_CODES,
  parseRetryAfter,
  type TaskResponse,
} from '../src/index.js';

// The contract's error table (runninghub-contract.md), one entry per row.
const TABLE: Array<{ codes: Array<string | number>; kind: string; alert: boolean }> = [
  { codes: [301, 412, 1007, 1009, 433, 803, 2013], kind: 'fatal', alert: false },
  { codes: [416, 812], kind: 'fatal', alert: true },
  { codes: [421, 1520], kind: 'backpressure', alert: false },
  { codes: [802, 811, 1002, 1014, 1601, 801], kind: 'fatal', alert: true },
  { codes: [1003, 1011], kind: 'retryable', alert: false },
  { codes: [500, 1005, 1010, 1012], kind: 'retryable', alert: false },
  { codes: [1006], kind: 'retryable', alert: false },
  { codes: [1004], kind: 'fatal', alert: false },
  { codes: [1501, 1505], kind: 'fatal', alert: false },
  {
    codes: [1043, 1044, 2037, 2039, 2042, 2048, 20132, 2038],
    kind: 'fatal',
    alert: false,
  },
];

describe('classifyUpstreamCode', () => {
  for (const row of TABLE) {
    for (const code of row.codes) {
      it(`${code} is ${row.kind}${row.alert ? ' and alerts the operator' : ''}`, () => {
        for (const form of [code, String(code), ` ${code} `]) {
          const c = classifyUpstreamCode(form);
          expect(c.kind).toBe(row.kind);
          expect(c.alertOperator).toBe(row.alert);
          expect(c.retryAfterMs).toBeNull();
          expect(c.reason).not.toBe('');
        }
      });
    }
  }

  it('415 is back-pressure with a suggested wait of 30 to 120 s, spread', () => {
    const waits = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const c = classifyUpstreamCode('415');
      expect(c.kind).toBe('backpressure');
      expect(c.retryAfterMs).toBeGreaterThanOrEqual(30_000);
      expect(c.retryAfterMs).toBeLessThanOrEqual(120_000);
      waits.add(c.retryAfterMs ?? 0);
    }
    expect(waits.size).toBeGreaterThan(1);
  });

  it('knows every code of the table and no other', () => {
    const fromTable = [...TABLE.flatMap((r) => r.codes.map(String)), '415'].sort();
    expect([...KNOWN_UPSTREAM_CODES].sort()).toEqual(fromTable);
  });

  it('treats unknown codes as retryable (the worker bounds the attempts)', () => {
    for (const code of ['9999', 42, '1']) {
      const c = classifyUpstreamCode(code);
      expect(c.kind).toBe('retryable');
      expect(c.reason).toBe('unknown upstream code');
    }
  });
});

describe('classifyHttpStatus', () => {
  it('retries 429 and 5xx with the given delay', () => {
    expect(classifyHttpStatus(429, 7000)).toMatchObject({ kind: 'retryable', retryAfterMs: 7000 });
    for (const status of [500, 502, 503, 504]) {
      expect(classifyHttpStatus(status, null)).toMatchObject({ kind: 'retryable' });
    }
  });

  it('never retries 400/401/403 and alerts on 401/403', () => {
    expect(classifyHttpStatus(400, null)).toMatchObject({ kind: 'fatal', alertOperator: false });
    expect(classifyHttpStatus(401, null)).toMatchObject({ kind: 'fatal', alertOperator: true });
    expect(classifyHttpStatus(403, null)).toMatchObject({ kind: 'fatal', alertOperator: true });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and caps them', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999', now)).toBe(3_600_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe('errorFromFailedTask', () => {
  const task = (over: Partial<TaskResponse>): TaskResponse => ({
    taskId: '2013508786110730241',
    status: 'FAILED',
    terminal: true,
    errorCode: '',
    errorMessage: '',
    results: [],
    audio: null,
    usage: null,
    raw: {},
    ...over,
  });

  it('classifies by the task code', () => {
    const e = errorFromFailedTask(task({ errorCode: '1505', errorMessage: 'REAL_PERSON' }));
    expect(e).toMatchObject({ kind: 'fatal', code: '1505', endpoint: 'query' });
    expect(e.message).toContain('REAL_PERSON');
    expect(errorFromFailedTask(task({ errorCode: '1006' })).kind).toBe('retryable');
  });

  it('retries a failure without a code, and gives up on an upstream cancel', () => {
    const raw = { failedReason: { exception_message: 'CUDA out of memory' } };
    const failed = errorFromFailedTask(task({ raw }));
    expect(failed.kind).toBe('retryable');
    expect(failed.message).toContain('CUDA out of memory');
    expect(errorFromFailedTask(task({ status: 'CANCEL' })).kind).toBe('fatal');
  });
});
