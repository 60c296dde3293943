import { errorResponse } from '@voxline/contract';
import { type Database, pendingMigrations } from '@voxline/db';
import type { Logger } from '@voxline/logger';
import { checkRedisReadiness, type RedisClient } from '@voxline/queue';
import { sql } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { routeDocs } from '../openapi.js';
import { within } from '../services/within.js';

// A readiness probe must answer within the prober's timeout even when a dependency hangs.
const CHECK_TIMEOUT_MS = 3_000;

interface Check {
  ok: boolean;
  error?: string;
}

/**
 * `/readyz`: Postgres answers, Redis answers and never evicts (an evicted BullMQ key is a lost
 * job), and the database has every migration. The probe is anonymous, so failures are named
 * but their driver messages (hosts, ports) only go to the log.
 */
export async function readiness(deps: { db: Database; redis: RedisClient; logger: Logger }) {
  const [postgres, redis] = await Promise.all([
    within(deps.db.execute(sql`select 1`), CHECK_TIMEOUT_MS).then(
      (): Check => ({ ok: true }),
      (error: unknown): Check => {
        deps.logger.warn({ err: error }, 'readiness: Postgres unreachable');
        return { ok: false, error: 'unreachable' };
      },
    ),
    checkRedisReadiness(deps.redis),
  ]);
  let migrations: Check & { pending: string[] | null } = {
    ok: false,
    pending: null,
    error: 'not checked: Postgres unreachable',
  };
  if (postgres.ok) {
    try {
      const pending = await within(pendingMigrations(deps.db), CHECK_TIMEOUT_MS);
      migrations =
        pending.length === 0
          ? { ok: true, pending }
          : { ok: false, pending, error: `${pending.length} migration(s) not applied` };
    } catch (error) {
      deps.logger.warn({ err: error }, 'readiness: migrations not checked');
      migrations = { ok: false, pending: null, error: 'could not be checked' };
    }
  }
  if (!redis.ok) deps.logger.warn({ error: redis.error }, 'readiness: Redis not ready');
  const redisCheck: Check & { maxmemory_policy: string | null } = {
    ok: redis.ok,
    maxmemory_policy: redis.maxmemoryPolicy,
    ...(redis.ok
      ? {}
      : {
          error: redis.maxmemoryPolicy
            ? `maxmemory-policy is ${redis.maxmemoryPolicy}; noeviction is required`
            : 'unreachable',
        }),
  };
  const checks = { postgres, redis: redisCheck, migrations };
  const failed = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
  return { ok: failed.length === 0, checks, failed };
}

const check = z.object({ ok: z.boolean(), error: z.string().optional() });
const checks = z.object({
  postgres: check,
  redis: check.extend({ maxmemory_policy: z.string().nullable() }),
  migrations: check.extend({ pending: z.array(z.string()).nullable() }),
});

export function healthRoutes(deps: {
  db: Database;
  redis: RedisClient;
  logger: Logger;
}): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRoute', routeDocs({ tags: ['operations'], security: [] }));

    // Liveness: the process runs its event loop. Deliberately checks nothing else, so an
    // outage of Postgres or Redis does not get healthy processes restarted.
    app.get(
      '/healthz',
      {
        schema: {
          summary: 'Liveness: the process is running',
          response: { 200: z.object({ status: z.literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: Postgres and Redis answer, Redis never evicts, migrations applied',
          description:
            '503 names each failed check in `error.details.failed`; driver messages only go to ' +
            'the log.',
          response: {
            200: z.object({ status: z.literal('ok'), checks }),
            503: z.object({
              status: z.literal('unavailable'),
              checks,
              error: errorResponse.shape.error,
            }),
          },
        },
      },
      async (_request, reply) => {
        const result = await readiness(deps);
        if (result.ok) return reply.send({ status: 'ok', checks: result.checks });
        return reply.status(503).send({
          status: 'unavailable',
          checks: result.checks,
          error: {
            code: 'unavailable',
            message: `not ready: ${result.failed.join(', ')}`,
            details: { failed: result.failed },
          },
        });
      },
    );
  };
}
