import { Agent, type Dispatcher, request } from 'undici';
import { urlForLog } from './log-url.js';
import { parseRetryAfter } from './schedule.js';
import {
  boundedResolver,
  createGuardedLookup,
  type HostResolver,
  type TargetAllowlist,
} from './target-guard.js';

/** What a tenant sees of a receiver's answer; enough to recognise an error page. */
export const RESPONSE_EXCERPT_BYTES = 1_024;

export type SendErrorCode = 'HTTP_ERROR' | 'REDIRECT' | 'TIMEOUT' | 'NETWORK' | 'UNSAFE_TARGET';

export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  responseExcerpt: string | null;
  /** From `retry-after` on 429 and 503 only, as the spec asks. */
  retryAfterMs: number | null;
  errorCode: SendErrorCode | null;
  error: string | null;
}

/**
 * One HTTP agent per process for every receiver: connections are kept alive between
 * deliveries, and every new connection resolves its host through the guarded lookup, so it can
 * only reach an address that passed the SSRF check (DNS rebinding gets nowhere).
 */
export function createWebhookDispatcher(options: {
  allowlist: TargetAllowlist;
  timeoutMs: number;
  resolve?: HostResolver;
}): Agent {
  return new Agent({
    connect: {
      lookup: createGuardedLookup(
        options.allowlist,
        boundedResolver(options.timeoutMs, options.resolve),
      ),
      timeout: options.timeoutMs,
    },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

function errorChain(error: unknown): Array<{ code?: unknown; name?: unknown; message?: unknown }> {
  const chain = [];
  let current: unknown = error;
  for (let i = 0; i < 5 && current && typeof current === 'object'; i += 1) {
    chain.push(current as { code?: unknown; name?: unknown; message?: unknown });
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function transportFailure(error: unknown, url: string, durationMs: number): SendResult {
  const chain = errorChain(error);
  const unsafe = chain.find((e) => e.code === 'UNSAFE_TARGET');
  const timedOut = chain.some(
    (e) =>
      (typeof e.code === 'string' && TIMEOUT_CODES.has(e.code)) ||
      e.name === 'TimeoutError' ||
      e.name === 'AbortError',
  );
  const code = chain.map((e) => e.code).find((c): c is string => typeof c === 'string');
  const errorCode: SendErrorCode = unsafe ? 'UNSAFE_TARGET' : timedOut ? 'TIMEOUT' : 'NETWORK';
  const message = unsafe
    ? String(unsafe.message)
    : timedOut
      ? 'timed out'
      : `network error${code ? ` (${code})` : ''}: ${String(chain[0]?.message ?? error)}`;
  // The text is logged and stored; should a transport error quote the URL, it quotes it bare.
  const shown = message.split(url).join(urlForLog(url));
  return {
    ok: false,
    statusCode: null,
    durationMs,
    responseExcerpt: null,
    retryAfterMs: null,
    errorCode,
    error: shown,
  };
}

/** Reads at most `limit` bytes of a body and drops the rest (closing the connection if need be). */
async function readExcerpt(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      chunks.push(buffer);
      size += buffer.length;
      if (size >= limit) break;
    }
  } catch {
    // A body cut short (timeout, reset) still leaves the status, which decides the outcome.
  } finally {
    if (!body.destroyed) body.destroy();
  }
  // Non-fatal decoding: a cut in the middle of a character becomes U+FFFD, not an error.
  // NUL goes: Postgres text cannot hold it, and the attempt must be recordable whatever came back.
  return new TextDecoder()
    .decode(Buffer.concat(chunks).subarray(0, limit))
    .replaceAll('\u0000', '');
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// The error text is logged: a receiver's Location may carry a token like any webhook URL.
function redirectTarget(location: string | undefined): string {
  return location === undefined ? '(none)' : urlForLog(location);
}

/**
 * POSTs one signed body. Redirects are never followed (undici's `request` does not, and no
 * redirect interceptor is installed): a 3xx is a failure, since following it would let a
 * receiver point voxline anywhere, including past the SSRF check.
 */
export async function sendWebhook(
  dispatcher: Dispatcher,
  params: { url: string; headers: Record<string, string>; body: string; timeoutMs: number },
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(params.url, {
      method: 'POST',
      dispatcher,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'voxline-webhooks/1',
        ...params.headers,
      },
      body: params.body,
      // Covers the whole exchange, including a receiver that trickles its headers.
      signal: AbortSignal.timeout(params.timeoutMs),
    });
  } catch (error) {
    return transportFailure(error, params.url, elapsed());
  }
  const statusCode = response.statusCode;
  const excerpt = await readExcerpt(response.body, RESPONSE_EXCERPT_BYTES);
  const durationMs = elapsed();
  const ok = statusCode >= 200 && statusCode < 300;
  const redirect = statusCode >= 300 && statusCode < 400;
  const retryAfterMs =
    statusCode === 429 || statusCode === 503
      ? parseRetryAfter(header(response.headers, 'retry-after'))
      : null;
  return {
    ok,
    statusCode,
    durationMs,
    responseExcerpt: excerpt === '' ? null : excerpt,
    retryAfterMs,
    errorCode: ok ? null : redirect ? 'REDIRECT' : 'HTTP_ERROR',
    error: ok
      ? null
      : redirect
        ? `HTTP ${statusCode}: redirect to ${redirectTarget(header(response.headers, 'location'))} not followed`
        : `HTTP ${statusCode}`,
  };
}
