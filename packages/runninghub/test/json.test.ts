import { describe, expect, it } from 'vitest';
import { parseJsonKeepingBigIntegers } from '../src/index.js';

describe('parseJsonKeepingBigIntegers', () => {
  it('keeps an unquoted taskId above 2^53 exact', () => {
    const parsed = parseJsonKeepingBigIntegers(
      '{"taskId": 2013508786110730241, "status":"RUNNING"}',
    ) as { taskId: unknown };
    expect(JSON.parse('{"taskId": 2013508786110730241}').taskId).not.toBe(2013508786110730241n);
    expect(parsed.taskId).toBe('2013508786110730241');
  });

  it('leaves strings, small numbers and floats alone', () => {
    const text =
      '{"a":"x 2013508786110730241 y","b":42,"c":1.1234567890123456789,"d":[-12345678901234567],' +
      '"e":"{\\"taskId\\": 2013508786110730241}","f":1e1234567890123456}';
    const parsed = parseJsonKeepingBigIntegers(text) as Record<string, unknown>;
    expect(parsed.a).toBe('x 2013508786110730241 y');
    expect(parsed.b).toBe(42);
    expect(parsed.c).toBeCloseTo(1.1234567890123457);
    expect(parsed.d).toEqual(['-12345678901234567']);
    expect(parsed.e).toBe('{"taskId": 2013508786110730241}');
    expect(parsed.f).toBe(Number.POSITIVE_INFINITY);
  });

  it('still rejects invalid JSON', () => {
    expect(() => parseJsonKeepingBigIntegers('{"taskId": 2013508786110730241')).toThrow();
    expect(() => parseJsonKeepingBigIntegers('')).toThrow();
  });
});
