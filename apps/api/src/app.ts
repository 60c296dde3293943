import { parseList } from '@voxline/config';
import { parseAllowlist } from '@voxline/webhooks';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { AppContext, AppDeps } from './context.js';
import { errorFields, errorHandler, notFoundHandler } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { v1Routes } from './routes/v1.js';
import { buildSchemas } from './schemas/index.js';

export type { AppDeps } from './context.js';

// Queue connection errors repeat on every reconnect attempt while Redis is down; one line per
// interval says so without flooding the log.
const QUEUE_ERROR_LOG_INTERVAL_MS = 30_000;

/**
 * The producer API as a Fastify instance, not listening: `main.ts` listens and owns the
 * process; tests use `inject` or listen on port 0. The caller owns (and closes) the database,
 * Redis and queues it passes in.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const ctx: AppContext = {
    ...deps,
    schemas: buildSchemas(config),
    allowlists: {
      audio: parseAllowlist(parseList(config.AUDIO_URL_ALLOWLIST)),
      webhook: parseAllowlist(parseList(config.WEBHOOK_ALLOWLIST)),
    },
  };

  const app = Fastify({
    // As Fastify's logger interface, so the instance is a plain FastifyInstance for callers.
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Correlates a request across services when a proxy sets it; generated otherwise.
    requestIdHeader: 'x-request-id',
    // Fastify's own request logs pass the raw request and reply objects, which the logger's
    // JSON-based secret scrubbing cannot serialise (they are circular); one line per request,
    // of plain fields, is written by the onResponse hook below instead.
    logController: new LogController({ disableRequestLogging: true }),
    // Prototype-poisoned JSON is refused (400), never stripped and accepted.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('tenant', null);

  // The default JSON parser, except that an empty body is no body: `POST …/cancel` sent by a
  // client that always sets content-type must not fail for having nothing to say.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return defaultJson(request, body as string, done);
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const fields = {
      method: request.method,
      url: request.url.slice(0, 300),
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    // Probes run every few seconds: keep them out of the info log unless they fail.
    const probe = request.url === '/healthz' || request.url === '/readyz';
    if (probe && reply.statusCode < 400) request.log.debug(fields, 'request completed');
    else request.log.info(fields, 'request completed');
  });

  let lastQueueError = 0;
  for (const queue of Object.values(deps.queues)) {
    queue.on('error', (error) => {
      const now = Date.now();
      if (now - lastQueueError < QUEUE_ERROR_LOG_INTERVAL_MS) return;
      lastQueueError = now;
      logger.warn({ err: errorFields(error), queue: queue.name }, 'queue connection error');
    });
  }

  await app.register(healthRoutes(deps));
  await app.register(adminRoutes(ctx), { prefix: '/admin' });
  await app.register(v1Routes(ctx), { prefix: '/v1' });
  return app;
}
