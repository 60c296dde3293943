import type { IncomingHttpHeaders } from 'node:http';
import {
  mayScrapeMetrics,
  type OperatorRole,
  type OperatorTokens,
  operatorRole as roleOf,
} from '@voxline/config';
import { type Database, findTenantByApiKey, type Tenant } from '@voxline/db';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiError, errorBody } from '../errors.js';
import type { Caller } from '../services/clones.js';

export type { OperatorRole, OperatorTokens } from '@voxline/config';

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
  interface FastifyContextConfig {
    /**
     * Called by another server, never by a browser page (RunningHub's callbacks): exempt from
     * the cross-site check, which only protects credentials a browser attaches by itself.
     */
    serverToServer?: boolean;
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
  const tenant = tenantOf(request);
  return { tenantId: tenant.id, maxPendingLines: tenant.maxPendingLines, log: request.log };
}

/**
 * The role a request's credential proves, or null (see `@voxline/config`'s credentials, which
 * the worker's /metrics shares). Takes the raw headers so the router can use it too (Bull Board
 * picks its read-only instance by role).
 */
export function operatorRole(
  headers: IncomingHttpHeaders,
  tokens: OperatorTokens,
): OperatorRole | null {
  return roleOf(headers.authorization, tokens);
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
 * any operator credential; the same rule as the worker's /metrics (`mayScrapeMetrics`).
 */
export function metricsAuth(tokens: OperatorTokens): onRequestAsyncHookHandler {
  return async (request, reply) => {
    if (mayScrapeMetrics(request.headers.authorization, tokens)) return;
    return refuse(
      reply,
      401,
      'metrics credential required (METRICS_TOKEN as Bearer, or an operator credential)',
    );
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request that a browser sent from another site. Operator surfaces
 * (Bull Board, the admin routes) take HTTP Basic, which a browser may attach to any request to
 * this origin, including one a hostile page makes it send: that is CSRF, and cookies play no
 * part. `app.ts` runs it before every route, so no write (operator or tenant, redrive
 * included) can be added without it; no browser page is served from another origin (no
 * CORS), so a legitimate cross-site write does not exist. The check follows Go's
 * `http.CrossOriginProtection`: `Sec-Fetch-Site`, set by the browser and beyond a page's
 * reach, must be `same-origin` (or `none`, a navigation the user typed); a browser too old to
 * send it is judged by `Origin` against `Host`. Scripts and curl send neither and pass: they
 * hold the credential themselves.
 */
export const refuseCrossSite: onRequestAsyncHookHandler = async (request, reply) => {
  if (SAFE_METHODS.has(request.method)) return;
  if (request.routeOptions.config?.serverToServer) return;
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
