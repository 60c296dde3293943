import type { ByteRange } from './store.js';

/**
 * An HTTP `Range` header (RFC 9110 §14.1.2) for an object of `totalBytes`, as the one range it
 * names: `null` means serve the whole object (no header, or one this does not take: several
 * ranges, another unit; a server may ignore Range), `'unsatisfiable'` means answer 416.
 */
export function parseRangeHeader(
  header: string | undefined,
  totalBytes: number,
): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    // A suffix: the last N bytes.
    const length = Number(last);
    if (length === 0 || totalBytes === 0) return 'unsatisfiable';
    return { start: Math.max(0, totalBytes - length), end: totalBytes - 1 };
  }
  const start = Number(first);
  if (start >= totalBytes) return 'unsatisfiable';
  const end = last === '' ? totalBytes - 1 : Number(last);
  if (end < start) return null;
  return { start, end: Math.min(end, totalBytes - 1) };
}
