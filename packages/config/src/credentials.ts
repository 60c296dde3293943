import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The operator credentials and who they prove to be, for every HTTP surface that guards
 * operational data: the API (admin routes, Bull Board, /metrics) and the worker's /metrics.
 * One implementation, so the two doors cannot drift apart. See docs/operations.md.
 */

/** The operator credentials, as configured. */
export interface OperatorTokens {
  ADMIN_TOKEN: string;
  ADMIN_READONLY_TOKEN?: string | undefined;
  METRICS_TOKEN?: string | undefined;
}

/**
 * Who an operator credential proves to be: `admin` (ADMIN_TOKEN) may change things, `viewer`
 * (ADMIN_READONLY_TOKEN) may only look.
 */
export type OperatorRole = 'admin' | 'viewer';

/** The secret an `Authorization` header presents: Bearer (no user name) or HTTP Basic. */
export function presentedSecret(
  authorization: string | undefined,
): { user: string | null; secret: string } | null {
  if (!authorization) return null;
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (token) return { user: null, secret: token };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization)?.[1];
  if (!basic) return null;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

// Hashing both sides first gives equal lengths, which timingSafeEqual needs, and leaks nothing
// about the token's length.
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The role an `Authorization` header proves, or null. Basic needs the matching user name
 * (`admin` or `viewer`); a Bearer token is whichever token it equals.
 */
export function operatorRole(
  authorization: string | undefined,
  tokens: OperatorTokens,
): OperatorRole | null {
  const given = presentedSecret(authorization);
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

/**
 * Whether an `Authorization` header may read /metrics: METRICS_TOKEN as Bearer (a scrape-only
 * secret for Prometheus), or any operator credential. Never anonymous: queue depths, error
 * codes and upstream latency are operational detail.
 */
export function mayScrapeMetrics(authorization: string | undefined, tokens: OperatorTokens) {
  const metricsToken = tokens.METRICS_TOKEN;
  if (metricsToken) {
    const given = presentedSecret(authorization);
    if (given?.user === null && sameSecret(given.secret, metricsToken)) return true;
  }
  return operatorRole(authorization, tokens) !== null;
}
