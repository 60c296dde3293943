import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';
import { metricsAuth } from '../plugins/auth.js';
import { createScraper } from '../services/metrics.js';

/**
 * `/metrics` in Prometheus' text format: this process's metrics (default process metrics, and
 * the worker's counters when `pnpm start` shares one registry) and the system's state read at
 * scrape time. See docs/operations.md for every metric.
 */
export function metricsRoutes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    const scraper = createScraper(ctx);
    app.get(
      '/metrics',
      {
        onRequest: metricsAuth(ctx.config),
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics',
          description:
            'Prometheus text format. Queue depths by queue and state, upstream slots, backlog by ' +
            'status, dead letters by error code, webhook deliveries and endpoints, ambiguous ' +
            'submits, and default process metrics. Needs METRICS_TOKEN (Bearer) or an operator ' +
            'credential.',
          security: [{ metricsToken: [] }, { adminToken: [] }, { adminBasic: [] }],
          produces: ['text/plain'],
        },
      },
      async (_request, reply) => {
        const body = await scraper.render();
        return reply.header('content-type', scraper.contentType).send(body);
      },
    );
  };
}
