import { describe, expect, it } from 'vitest';
import { nextRetryDelay, parseRetryAfter, parseRetrySchedule } from '../src/index.js';

const spec = parseRetrySchedule('0,5,300,1800,7200,18000,36000,50400,72000,86400');

describe('retry schedule', () => {
  it('waits the next step after each failed attempt, then gives up after the last', () => {
    const plan = { schedule: spec, scale: 1 };
    const middle = () => 0.5;
    expect(nextRetryDelay(plan, 1, null, middle)).toBe(5_000);
    expect(nextRetryDelay(plan, 2, null, middle)).toBe(300_000);
    expect(nextRetryDelay(plan, 9, null, middle)).toBe(86_400_000);
    expect(nextRetryDelay(plan, 10, null, middle)).toBeNull();
  });

  it('jitters by at most 10% either way', () => {
    const plan = { schedule: spec, scale: 1 };
    expect(nextRetryDelay(plan, 2, null, () => 0)).toBe(270_000);
    expect(nextRetryDelay(plan, 2, null, () => 0.999_999)).toBe(330_000);
  });

  it('compresses by the scale, but never compresses a retry-after', () => {
    const plan = { schedule: spec, scale: 1_000 };
    expect(nextRetryDelay(plan, 2, null, () => 0.5)).toBe(300);
    expect(nextRetryDelay(plan, 2, 2_000, () => 0.5)).toBe(2_000);
    // The schedule wins when it is longer than what the receiver asked for.
    expect(nextRetryDelay({ schedule: spec, scale: 1 }, 3, 2_000, () => 0.5)).toBe(1_800_000);
  });

  it('caps retry-after at the longest step', () => {
    const plan = { schedule: spec, scale: 1 };
    expect(nextRetryDelay(plan, 1, 30 * 86_400_000, () => 0.5)).toBe(86_400_000);
  });

  it('reads retry-after as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });

  it('refuses a schedule that is not a list of seconds', () => {
    expect(() => parseRetrySchedule('0,5,x')).toThrow();
    expect(() => parseRetrySchedule('0,-5')).toThrow();
  });
});
