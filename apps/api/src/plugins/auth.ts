import { createHash, timingSafeEqual } from 'node:crypto';
import { type Database, findTenantByApiKey, type Tenant } from '@voxline/db';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiError } from '../errors.js';
import type { Caller } from '../services/clones.js';

/**
 * Authentication, as `onRequest` hooks: they run before the body is read, so an anonymous
 * client cannot make the API buffer and parse a 16 MB body.
 *
 * - Tenants: `Authorization: Bearer vxl_…`, looked up by the key's SHA-256 (keys are stored
 *   hashed). The tenant is put on the request and every query is scoped by its id.
 * - Admin: `ADMIN_TOKEN` as a Bearer token, or as the password of HTTP Basic (user `admin`),
 *   which is what a browser prompts for (Bull Board will sit behind the same check).
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

function adminCredential(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const token = bearer(request);
  if (token) return token;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
  if (!basic) return null;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(0, colon) !== 'admin') return null;
  return decoded.slice(colon + 1);
}

export function adminAuth(adminToken: string): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const given = adminCredential(request);
    if (given === null || !sameSecret(given, adminToken)) {
      reply.header('www-authenticate', 'Basic realm="voxline admin", charset="UTF-8"');
      throw unauthorized('admin credential required (ADMIN_TOKEN as Bearer, or Basic admin:…)');
    }
    request.log = request.log.child({ admin: true });
  };
}
