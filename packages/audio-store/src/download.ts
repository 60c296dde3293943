import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { ArchiveError, httpStatusRetryable, urlForLog } from './archive-error.js';
import type { TargetGuard } from './guard.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface DownloadOptions {
  guard: TargetGuard;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** True once the total timeout has fired: an abort then is a TIMEOUT, not the caller's. */
  timedOut: () => boolean;
  maxBytes: number;
  maxRedirects: number;
}

export interface Download {
  /** The body, capped at maxBytes: past it, it fails with ArchiveError TOO_LARGE. */
  body: Readable;
  contentType: string | null;
  /** Its Content-Length, when the server sent one (undici holds the body to it). */
  bytes: number | undefined;
  /** The URL the body came from, after redirects. */
  url: string;
}

// undici and the guard's lookup put the reason in `code`, sometimes on a cause of the error.
function codeOf(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; ) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** An error met while fetching, as an ArchiveError; the caller's own abort passes through. */
export function downloadError(error: unknown, url: string, options: DownloadOptions): unknown {
  if (error instanceof ArchiveError) return error;
  const shown = urlForLog(url);
  const code = codeOf(error);
  if (options.timedOut() || (code && TIMEOUT_CODES.has(code))) {
    return new ArchiveError('TIMEOUT', 'download timed out', true, shown, { cause: error });
  }
  if (options.signal.aborted) return error;
  if (code === 'UNSAFE_TARGET') {
    return new ArchiveError('UNSAFE_TARGET', String((error as Error).message), false, shown, {
      cause: error,
    });
  }
  return new ArchiveError(
    'NETWORK',
    `download failed: ${String((error as Error).message)}`,
    true,
    shown,
    {
      cause: error,
    },
  );
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Drops a body not worth reading (a redirect's, an error page, one over the cap). undici
 * reports a destroyed body as an AbortError 'error' event: with nobody reading it, that
 * event is expected and would otherwise be an uncaught exception.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

async function* capped(body: AsyncIterable<Buffer>, url: string, options: DownloadOptions) {
  let total = 0;
  try {
    for await (const chunk of body) {
      total += chunk.length;
      if (total > options.maxBytes) {
        throw new ArchiveError(
          'TOO_LARGE',
          `result is larger than ${options.maxBytes} bytes`,
          false,
          urlForLog(url),
        );
      }
      yield chunk;
    }
  } catch (error) {
    throw downloadError(error, url, options);
  }
}

/**
 * GETs `url`, following redirects by hand so that each hop passes the guard (undici's own
 * redirects would connect to an IP literal no lookup ever sees).
 */
export async function openDownload(url: string, options: DownloadOptions): Promise<Download> {
  let current = url;
  for (let hop = 0; ; hop++) {
    try {
      await options.guard.check(current);
    } catch (error) {
      throw new ArchiveError(
        'UNSAFE_TARGET',
        `refused by the SSRF guard: ${String((error as Error).message)}`,
        false,
        urlForLog(current),
        { cause: error },
      );
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await request(current, {
        dispatcher: options.dispatcher,
        signal: options.signal,
        headers: { accept: 'audio/*, */*;q=0.5' },
      });
    } catch (error) {
      throw downloadError(error, current, options);
    }
    const { statusCode, headers, body } = response;
    const location = header(headers, 'location');
    if (REDIRECTS.has(statusCode) && location) {
      discard(body);
      if (hop >= options.maxRedirects) {
        throw new ArchiveError(
          `HTTP_${statusCode}`,
          `more than ${options.maxRedirects} redirects`,
          false,
          urlForLog(current),
        );
      }
      current = new URL(location, current).href;
      continue;
    }
    if (statusCode < 200 || statusCode >= 300) {
      discard(body);
      throw new ArchiveError(
        `HTTP_${statusCode}`,
        `upstream answered ${statusCode}`,
        httpStatusRetryable(statusCode),
        urlForLog(current),
      );
    }
    const length = Number(header(headers, 'content-length'));
    if (Number.isFinite(length) && length > options.maxBytes) {
      discard(body);
      throw new ArchiveError(
        'TOO_LARGE',
        `result is ${length} bytes, more than ${options.maxBytes}`,
        false,
        urlForLog(current),
      );
    }
    return {
      body: Readable.from(capped(body, current, options), { objectMode: false }),
      contentType: header(headers, 'content-type') ?? null,
      bytes: Number.isFinite(length) ? length : undefined,
      url: current,
    };
  }
}
