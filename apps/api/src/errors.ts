import { STATUS_CODES as HTTP_REASONS, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
} from 'fastify-type-provider-zod';

/**
 * Every error leaves the API as `{ error: { code, message, details } }`. `details` is null, or
 * for validation errors a list of `{ path, message }` naming each field at fault
 * (`lines.3.text`). Stacks, SQL and driver messages are logged, never returned.
 */

export interface FieldProblem {
  /** Dotted path into the request part (`lines.3.text`); empty for the part as a whole. */
  path: string;
  message: string;
}

export class ApiError extends Error {
  /** Headers the answer carries, e.g. `retry-after` on a 429. */
  readonly headers: Record<string, string> = {};

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  withHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }
}

// A body of 10,000 bad lines must not produce a 10,000-entry answer.
const MAX_PROBLEMS = 100;

export function validationError(problems: FieldProblem[], where = 'request body'): ApiError {
  const listed = problems.slice(0, MAX_PROBLEMS);
  const more =
    problems.length > listed.length ? ` (the first ${MAX_PROBLEMS} of ${problems.length})` : '';
  const summary = listed
    .slice(0, 3)
    .map((p) => (p.path ? `${p.path}: ${p.message}` : p.message))
    .join('; ');
  return new ApiError(400, 'validation_error', `invalid ${where}${more}: ${summary}`, listed);
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `${what} not found`);
}

export function errorBody(code: string, message: string, details: unknown = null) {
  return { error: { code, message, details } };
}

// Connection-level failures of Postgres (node-postgres, SQLSTATE class 08 and shutdown codes)
// and Redis (ioredis with the producer's fail-fast options): the request could not be served
// now, and may be retried. Anything else is a bug and a 500.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /Cannot use a pool after calling end/i,
  /Stream isn't writeable/i,
  /Connection is closed/i,
  /max retries per request/i,
  /Redis (not ready|unreachable)/i,
];

export function isUnavailableError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (typeof current !== 'object') return false;
    const { code, message, name } = current as {
      code?: unknown;
      message?: unknown;
      name?: unknown;
    };
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) {
      return true;
    }
    if (name === 'MaxRetriesPerRequestError') return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(message))) {
      return true;
    }
    // AggregateError (a connect that tried IPv4 and IPv6) keeps its causes in `errors`.
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((e) => isUnavailableError(e))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** A unique-index violation (23505), looking through drizzle's query-error wrapper. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const e = current as { code?: unknown; constraint?: unknown; cause?: unknown };
    if (e.code === '23505') return constraint === undefined || e.constraint === constraint;
    current = e.cause;
  }
  return false;
}

function valueAt(root: unknown, path: string[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Turns fastify-type-provider-zod's issue list into field problems, one per field. */
function zodProblems(error: FastifyError, request: FastifyRequest): FieldProblem[] {
  const context = error.validationContext ?? 'body';
  const source: unknown =
    context === 'body'
      ? request.body
      : context === 'querystring'
        ? request.query
        : context === 'params'
          ? request.params
          : request.headers;
  const problems: FieldProblem[] = [];
  for (const issue of error.validation ?? []) {
    const segments = issue.instancePath.split('/').filter((s) => s.length > 0);
    const path = segments.join('.');
    const params = issue.params as { keys?: unknown };
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(params.keys)) {
      for (const key of params.keys) {
        problems.push({
          path: path ? `${path}.${String(key)}` : String(key),
          message: 'unknown field',
        });
      }
      continue;
    }
    // zod reports a missing field as a type error; say what a person would.
    const missing =
      issue.keyword === 'invalid_type' &&
      segments.length > 0 &&
      valueAt(source, segments) === undefined;
    problems.push({ path, message: missing ? 'is required' : (issue.message ?? 'is invalid') });
  }
  return problems;
}

const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'payload_too_large',
    message: 'request body is larger than the limit',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'invalid_json',
    message: 'request body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'invalid_json',
    message: 'request body is empty but declared as JSON',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'send the body as application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'bad_request',
    message: 'content-length does not match the body',
  },
};

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

// How long a refusal waits for the rest of a body it will not read (see `unreadBodyDrained`).
const LINGER_MS = 5_000;

/**
 * Resolves once the client has sent the rest of a body the API refused (or after LINGER_MS).
 * Fastify closes the connection after a body parse error; closing it with unread input makes
 * the kernel reset it, and a client still writing its body then fails (EPIPE, ECONNRESET)
 * before it reads the answer: RFC 9112 section 9.6 asks for this "lingering close". Seen as
 * a 17 MB upload failing with EPIPE instead of its 413, one run in ten.
 */
function unreadBodyDrained(raw: IncomingMessage): Promise<void> {
  if (raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      raw.off('end', done).off('close', done).off('error', done);
      resolve();
    };
    const timer = setTimeout(done, LINGER_MS);
    raw.on('end', done).on('close', done).on('error', done);
    // Fastify stopped reading at the limit (or never started, for a declared length over it).
    raw.resume();
  });
}

export function errorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply | Promise<FastifyReply> {
  if (error instanceof ApiError) {
    const answer = () =>
      reply
        .status(error.statusCode)
        .headers(error.headers)
        .send(errorBody(error.code, error.message, error.details));
    // A file over its limit (POST /v1/voices) is refused mid-upload, like a body over the limit.
    return error.statusCode === 413 ? unreadBodyDrained(request.raw).then(answer) : answer();
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext === 'body' ? 'request body' : error.validationContext;
    const api = validationError(zodProblems(error, request), where);
    return reply.status(400).send(errorBody(api.code, api.message, api.details));
  }
  if (isUnavailableError(error)) {
    request.log.warn({ err: error }, 'backing service unavailable');
    return reply
      .status(503)
      .header('retry-after', '5')
      .send(
        errorBody(
          'unavailable',
          'a backing service (database or queue) is unavailable; retry later',
        ),
      );
  }
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) {
    const answer = () => reply.status(known.status).send(errorBody(known.code, known.message));
    return error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
      ? unreadBodyDrained(request.raw).then(answer)
      : answer();
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500 && !isResponseSerializationError(error)) {
    // Fastify's own client errors carry safe, fixed messages.
    return reply
      .status(status)
      .send(errorBody(STATUS_CODES[status] ?? 'bad_request', error.message));
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.status(500).send(errorBody('internal', 'internal error; it has been logged'));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  return reply
    .status(404)
    .send(errorBody('not_found', `no route for ${request.method} ${path.slice(0, 200)}`));
}

/**
 * Errors Fastify's router raises before any route or error handler runs: a path that does not
 * decode (`/v1/clones/%`) and a path parameter over `maxParamLength` (100). Left to Fastify they
 * are answered `{"error":"Bad Request","code":"FST_ERR_…"}`, not the API's envelope.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return reply.status(414).send(errorBody('uri_too_long', 'a path parameter is too long'));
  }
  return reply.status(400).send(errorBody('bad_request', 'the URL is not valid'));
}

/**
 * Requests Node's HTTP parser refuses (headers over 16 KB, a malformed request line, a NUL in a
 * header, Content-Length with Transfer-Encoding) never reach Fastify: this writes the API's
 * envelope on the raw socket. `connection: close` matters: Fastify's default handler omits it
 * and then destroys the socket, so a client's next request on that kept-alive connection fails
 * with ECONNRESET. Found by chaos/test/hostile-input.test.ts.
 *
 * The answer is sent with a half-close, and what the client is still sending (the rest of a
 * 1 MB header) is read and dropped until it closes its side: destroying the socket with unread
 * input makes the kernel send a reset, and the client then fails its write (EPIPE, ECONNRESET)
 * before it reads the 431. A client that never closes is cut off after DRAIN_MS.
 */
const DRAIN_MS = 5_000;
const answered = new WeakSet<Socket>();

export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // The parser fails again when the client ends its side: that is the end of the exchange.
  if (answered.has(socket)) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'request headers are larger than the limit']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request was not received in time']
        : [400, 'bad_request', 'malformed HTTP request'];
  if (!socket.writable) {
    socket.destroy(error);
    return;
  }
  answered.add(socket);
  const body = JSON.stringify(errorBody(code, message));
  socket.removeAllListeners('data');
  socket.on('data', () => {});
  socket.resume();
  const cutOff = setTimeout(() => socket.destroy(), DRAIN_MS);
  cutOff.unref();
  socket.once('close', () => clearTimeout(cutOff));
  socket.end(
    `HTTP/1.1 ${status} ${HTTP_REASONS[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
