import { describe, expect, it } from 'vitest';
import { parseRangeHeader } from '../src/index.js';

describe('parseRangeHeader', () => {
  it('reads one byte range as HTTP means it', () => {
    expect(parseRangeHeader('bytes=0-99', 1_000)).toEqual({ start: 0, end: 99 });
    expect(parseRangeHeader('bytes=900-', 1_000)).toEqual({ start: 900, end: 999 });
    expect(parseRangeHeader('bytes=-100', 1_000)).toEqual({ start: 900, end: 999 });
    expect(parseRangeHeader('bytes=-5000', 1_000)).toEqual({ start: 0, end: 999 });
    expect(parseRangeHeader('bytes=990-5000', 1_000)).toEqual({ start: 990, end: 999 });
  });

  it('says 416 for a range past the end', () => {
    expect(parseRangeHeader('bytes=1000-', 1_000)).toBe('unsatisfiable');
    expect(parseRangeHeader('bytes=-0', 1_000)).toBe('unsatisfiable');
    expect(parseRangeHeader('bytes=0-', 0)).toBe('unsatisfiable');
  });

  it('serves the whole object for what it does not take', () => {
    expect(parseRangeHeader(undefined, 1_000)).toBeNull();
    expect(parseRangeHeader('bytes=0-1,5-6', 1_000)).toBeNull();
    expect(parseRangeHeader('items=0-1', 1_000)).toBeNull();
    expect(parseRangeHeader('bytes=50-10', 1_000)).toBeNull();
    expect(parseRangeHeader('bytes=-', 1_000)).toBeNull();
  });
});
