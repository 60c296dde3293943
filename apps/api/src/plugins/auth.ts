import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '@voxline/config';
import { type Database, findTenantByApiKey, type Tenant } from '@voxline/db';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from 'fastify';
import { ApiError, errorBody } from '../errors.js';
import type { Caller } from '../services/clones.js';

/**
 * Authentication, as `onRequest` hooks: they run before the body is read, so an anonymous
 * client cannot make the API buffer and parse a 16 MB body.
 *
 * - Tenants: `Authorization: Bearer vxl_…`, looked up by the key's SHA-256 (keys are stored
 *   hashed). The tenant is put on the request and every query is scoped by its id.
 * - Operators: `ADMIN_TOKEN` as a Bearer token, or as the password of HTTP Basic (user
 *   `admin`), which is what a browser prompts for; `ADMIN_READONLY_TOKEN` likewise (user
 *   `viewer`) for people who watch Bull Board and /metrics but must not change anything;
 *   `METRICS_TOKEN` (Bearer) for a Prometheus scraper. See docs/operations.md.
 */

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the tenant hook on every `/v1` route. */
    tenant: Tenant | null;
  }
}

// Keys are `vxl_` + 43 base64url characters; anything not key-shaped is refused without a query.
const API_KEY_PATTERN = /^vxl_[A-Za-z0-9_-]{16,128}$/;

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message);
}

export function tenantAuth(db: Database): onRequestAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const key = bearer(request);
    if (!key || !API_KEY_PATTERN.test(key)) {
      throw unauthorized('send a tenant API key as "Authorization: Bearer vxl_…"');
    }
    const tenant = await findTenantByApiKey(db, { apiKey: key });
    if (!tenant) throw unauthorized('the API key is not valid or was revoked');
    request.tenant = tenant;
    request.log = request.log.child({ tenantId: tenant.id });
  };
}

/** The request's tenant; only valid on routes behind `tenantAuth`. */
export function tenantOf(request: FastifyRequest): Tenant {
  if (!request.tenant) throw unauthorized('authentication required');
  return request.tenant;
}

/** Who is asking, for services: the tenant id and a logger that carries it. */
export function callerOf(request: FastifyRequest): Caller {
  return { tenantId: tenantOf(request).id, log: request.log };
}

// Hashing both sides first gives equal lengths, which timingSafeEqual needs, and leaks nothing
// about the token's length.
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The operator credentials, as configured. */
export type OperatorTokens = Pick<Config, 'ADMIN_TOKEN' | 'ADMIN_READONLY_TOKEN' | 'METRICS_TOKEN'>;

/**
 * Who an operator credential proves to be: `admin` (ADMIN_TOKEN) may change things, `viewer`
 * (ADMIN_READONLY_TOKEN) may only look.
 */
export type OperatorRole = 'admin' | 'viewer';

/** The secret a request presents: Bearer (no user name) or HTTP Basic (user name and password). */
function presented(headers: IncomingHttpHeaders): { user: string | null; secret: string } | null {
  const header = headers.authorization;
  if (!header) return null;
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (token) return { user: null, secret: token };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
  if (!basic) return null;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * The role a request's credential proves, or null. Basic needs the matching user name (`admin`
 * or `viewer`); a Bearer token is whichever token it equals. Takes the raw headers so the
 * router can use it too (Bull Board picks its read-only instance by role).
 */
export function operatorRole(
  headers: IncomingHttpHeaders,
  tokens: OperatorTokens,
): OperatorRole | null {
  const given = presented(headers);
  if (!given) return null;
  if (
    (given.user === null || given.user === 'admin') &&
    sameSecret(given.secret, tokens.ADMIN_TOKEN)
  ) {
    return 'admin';
  }
  const readonly = tokens.ADMIN_READONLY_TOKEN;
  if (
    readonly &&
    (given.user === null || given.user === 'viewer') &&
    sameSecret(given.secret, readonly)
  ) {
    return 'viewer';
  }
  return null;
}

// One realm for every operator surface, so a browser that logged in to Bull Board is not asked
// again for /metrics or the admin routes.
const CHALLENGE = 'Basic realm="voxline", charset="UTF-8"';

function refuse(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', CHALLENGE);
  return reply
    .status(status)
    .send(errorBody(status === 401 ? 'unauthorized' : 'forbidden', message));
}

/**
 * Operator routes: the credential must prove one of `allowed`. A valid read-only credential on
 * a route that needs more is a 403 (asking again would not help). The hook answers itself
 * instead of throwing, because Bull Board's routes have their own error handler.
 */
export function operatorAuth(
  tokens: OperatorTokens,
  allowed: readonly OperatorRole[] = ['admin'],
): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const role = operatorRole(request.headers, tokens);
    if (role === null) {
      return refuse(
        reply,
        401,
        'admin credential required (ADMIN_TOKEN as Bearer, or Basic admin:…)',
      );
    }
    if (!allowed.includes(role)) {
      return refuse(reply, 403, 'this credential is read-only');
    }
    request.log = request.log.child({ operator: role });
  };
}

/**
 * `/metrics`: METRICS_TOKEN as Bearer when it is set (a scrape-only secret for Prometheus), or
 * any operator credential. Never anonymous: queue depths and error codes are operational detail.
 */
export function metricsAuth(tokens: OperatorTokens): onRequestAsyncHookHandler {
  const operator = operatorAuth(tokens, ['admin', 'viewer']);
  return async function (this: FastifyInstance, request, reply) {
    const given = presented(request.headers);
    const metricsToken = tokens.METRICS_TOKEN;
    if (metricsToken && given?.user === null && sameSecret(given.secret, metricsToken)) return;
    return operator.call(this, request, reply);
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request that a browser sent from another site. Bull Board is
 * behind HTTP Basic, which a browser may attach to any request to this origin, including one a
 * hostile page makes it send: that is CSRF, and cookies play no part. The check follows Go's
 * `http.CrossOriginProtection`: `Sec-Fetch-Site`, set by the browser and beyond a page's
 * reach, must be `same-origin` (or `none`, a navigation the user typed); a browser too old to
 * send it is judged by `Origin` against `Host`. Scripts and curl send neither and pass: they
 * hold the credential themselves.
 */
export const refuseCrossSite: onRequestAsyncHookHandler = async (request, reply) => {
  if (SAFE_METHODS.has(request.method)) return;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return;
    return refuse(reply, 403, `cross-site ${request.method} refused (sec-fetch-site: ${site})`);
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !sameHost(origin, request.headers.host)) {
    return refuse(reply, 403, `cross-origin ${request.method} refused`);
  }
};

/**
 * The read-only board refuses every write itself, whatever Bull Board's `readOnlyMode` covers
 * in a given version (it answers 405 for the queue actions it knows about).
 */
export const refuseWrites: onRequestAsyncHookHandler = async (request, reply) => {
  if (SAFE_METHODS.has(request.method)) return;
  return refuse(reply, 403, 'this credential is read-only');
};

// `Origin: null` (sandboxed frames, file://) or garbage is never this server. Both sides are
// parsed with the origin's scheme so a default port written out (`:443`) still matches.
function sameHost(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const from = new URL(origin);
    return from.host === new URL(`${from.protocol}//${host}`).host;
  } catch {
    return false;
  }
}
