import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';

const WINDOW_MS = 60_000;

/**
 * Requests per tenant per minute (TENANT_REQUESTS_PER_MINUTE, or the tenant's own limit): over
 * it, `429 rate_limited` with `Retry-After`. The count is kept in Redis, so every API process
 * counts against one limit. It runs at `preParsing`, after the key is checked (`onRequest`) and
 * before the body is read: a tenant over its limit cannot make the API read a 16 MB batch.
 * When Redis cannot be reached the limit is not enforced (`skipOnError`): refusing every request
 * because the counter is down would turn a Redis blip into an outage of the whole API, while
 * what it accepts is durable in Postgres and queued by the reconciler.
 */
export async function registerTenantRateLimit(
  app: FastifyInstance,
  ctx: AppContext,
  onLimited: (tenantId: string) => void,
): Promise<void> {
  await app.register(rateLimit, {
    hook: 'preParsing',
    redis: ctx.redis,
    nameSpace: `${ctx.config.QUEUE_PREFIX}:rate:`,
    timeWindow: WINDOW_MS,
    skipOnError: true,
    keyGenerator: (request) => request.tenant?.id ?? request.ip,
    max: (request) => request.tenant?.requestsPerMinute ?? ctx.config.TENANT_REQUESTS_PER_MINUTE,
    onExceeded: (request) => {
      if (request.tenant) onLimited(request.tenant.id);
    },
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'rate_limited',
        `more than ${context.max} requests in a minute: retry after ${context.after}`,
        { limit: context.max, retry_after_seconds: Math.ceil(context.ttl / 1_000) },
      ),
  });
}
