import { validationError } from '../errors.js';

/**
 * Opaque pagination cursors: base64url of `{k, v}`, where `k` names the listing so a cursor of
 * one listing is refused by another. Clients must treat them as strings.
 */
export function encodeCursor(kind: string, value: string | number): string {
  return Buffer.from(JSON.stringify({ k: kind, v: value })).toString('base64url');
}

export function decodeCursor<T extends string | number>(
  kind: string,
  cursor: string | undefined,
  check: (value: unknown) => value is T,
): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      k?: unknown;
      v?: unknown;
    };
    if (parsed.k === kind && check(parsed.v)) return parsed.v;
  } catch {
    // fall through: any undecodable cursor is the caller's error
  }
  throw validationError([{ path: 'cursor', message: 'is not a cursor of this listing' }], 'query');
}
