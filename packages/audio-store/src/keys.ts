import { InvalidKeyError } from './errors.js';

// A segment never starts with a dot: no `.`/`..` traversal, and the folder store's own
// `.tmp/` and `.meta/` can never be named by a key.
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
// S3 allows 1,024 bytes; the prefix takes part of that.
const MAX_KEY_LENGTH = 512;

/** Throws InvalidKeyError unless `key` is a relative path of safe segments. */
export function assertValidKey(key: string): void {
  if (key.length === 0) throw new InvalidKeyError(key, 'empty');
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(key, `longer than ${MAX_KEY_LENGTH} characters`);
  }
  for (const segment of key.split('/')) {
    if (!SEGMENT.test(segment)) {
      throw new InvalidKeyError(
        key,
        'each /-separated part must be letters, digits, ".", "_" or "-", not starting with "."',
      );
    }
  }
}
