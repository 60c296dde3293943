export type ArchiveErrorCode =
  | 'TOO_LARGE'
  | 'TIMEOUT'
  | `HTTP_${number}`
  | 'UNSAFE_TARGET'
  | 'NETWORK'
  | 'UNREADABLE_AUDIO'
  | 'STORE_FAILED';

/** Upstream statuses that another attempt may get past: overload, rate limits, its own errors. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

export function httpStatusRetryable(status: number): boolean {
  return status >= 500 || RETRYABLE_STATUSES.has(status);
}

/**
 * Why a result could not be archived. `retryable` says whether the same download, tried
 * again later, can succeed: a timeout or a dropped connection can, a file over the size cap
 * or one that is not audio cannot.
 */
export class ArchiveError extends Error {
  constructor(
    readonly code: ArchiveErrorCode,
    message: string,
    readonly retryable: boolean,
    /** Without its query string: result links carry their signature there. */
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} (${url})`, options);
    this.name = 'ArchiveError';
  }
}

/** Origin and path only: what may be logged or stored of a signed link. */
export function urlForLog(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
