import { openAudioStore } from '@voxline/audio-store';
import { parseList } from '@voxline/config';
import { publicBaseUrl } from '@voxline/contract';
import { createMetrics } from '@voxline/metrics';
import { priceList } from '@voxline/runninghub';
import { parseAllowlist } from '@voxline/webhooks';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { AppContext, AppDeps } from './context.js';
import {
  clientErrorHandler,
  errorHandler,
  frameworkErrorHandler,
  notFoundHandler,
} from './errors.js';
import { registerOpenApi } from './openapi.js';
import { refuseCrossSite } from './plugins/auth.js';
import { adminRoutes } from './routes/admin.js';
import { BOARD_PATH, boardRoleConstraint, boardRoutes } from './routes/board.js';
import { callbackRoutes } from './routes/callbacks.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { v1Routes } from './routes/v1.js';
import { buildSchemas } from './schemas/index.js';
import { apiMetrics } from './services/api-metrics.js';

export type { AppDeps } from './context.js';

// Queue connection errors repeat on every reconnect attempt while Redis is down; one line per
// interval says so without flooding the log.
const QUEUE_ERROR_LOG_INTERVAL_MS = 30_000;

// Requests that pollers repeat every few seconds (probes, scrapes, and Bull Board, which
// refreshes every open tab every 5 s): logged at debug when they succeed, so the info log
// keeps what people did.
function isPolling(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const path = url.split('?', 1)[0] ?? '';
  return (
    path === '/healthz' ||
    path === '/readyz' ||
    path === '/metrics' ||
    path.startsWith(`${BOARD_PATH}/api/`) ||
    path.startsWith(`${BOARD_PATH}/static/`)
  );
}

/**
 * The producer API as a Fastify instance, not listening: `main.ts` listens and owns the
 * process; tests use `inject` or listen on port 0. The caller owns (and closes) the database,
 * Redis and queues it passes in. Routes: `/v1` (tenants), `/admin` and Bull Board at
 * `/admin/queues` (operators), `/callbacks` (RunningHub, by per-task token), `/metrics`,
 * `/healthz`, `/readyz`, and the OpenAPI document at `/docs`.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const ctx: AppContext = {
    ...deps,
    metrics,
    apiMetrics: apiMetrics(metrics.registry),
    audioStore: openAudioStore(config),
    baseUrl: publicBaseUrl(config),
    schemas: buildSchemas(config),
    prices: priceList(config.RUNNINGHUB_PRICES),
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
    // One line per request, written by the onResponse hook below, instead of Fastify's two
    // (incoming, completed): it carries the status and time, and keeps pollers at debug unless
    // they fail, which a route's fixed log level cannot do.
    logController: new LogController({ disableRequestLogging: true }),
    // Prototype-poisoned JSON is refused (400), never stripped and accepted.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { ignoreTrailingSlash: true },
    // Refusals made below the routes answer with the same JSON envelope as every other error.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // Without these a client holding a valid key could keep connections open for ever with
    // slow bodies. The reasons for each value are beside it in @voxline/config.
    connectionTimeout: config.HTTP_CONNECTION_TIMEOUT_MS,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      // Node enforces the headers and request timeouts on a timer (30 s by default), so a
      // request may outlive its timeout by up to this: a tenth of the shorter one, at most 1 s.
      connectionsCheckingInterval: Math.min(
        1_000,
        Math.ceil(Math.min(config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS) / 10),
      ),
    },
  }).withTypeProvider<ZodTypeProvider>();

  // Bull Board's full and read-only instances share their URLs; the credential picks one.
  app.addConstraintStrategy(boardRoleConstraint(config));
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

  // The one place writes are checked for CSRF: before every route, before any credential.
  app.addHook('onRequest', refuseCrossSite);
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
    const quiet = reply.statusCode < 400 && isPolling(request.method, request.url);
    request.log[quiet ? 'debug' : 'info'](fields, 'request completed');
  });

  let lastQueueError = 0;
  for (const queue of Object.values(deps.queues)) {
    queue.on('error', (error) => {
      const now = Date.now();
      if (now - lastQueueError < QUEUE_ERROR_LOG_INTERVAL_MS) return;
      lastQueueError = now;
      logger.warn({ err: error, queue: queue.name }, 'queue connection error');
    });
  }

  app.addHook('onClose', async () => {
    await ctx.audioStore.close();
  });

  await registerOpenApi(app);
  await app.register(healthRoutes(deps));
  await app.register(metricsRoutes(ctx));
  await app.register(adminRoutes(ctx), { prefix: '/admin' });
  await app.register(boardRoutes(ctx));
  await app.register(v1Routes(ctx), { prefix: '/v1' });
  await app.register(callbackRoutes(ctx), { prefix: '/callbacks' });
  return app;
}
