import { createServer, type Server } from 'node:http';
import { mayScrapeMetrics, type OperatorTokens } from '@voxline/config';
import type { Logger } from '@voxline/logger';
import type { Metrics } from '@voxline/metrics';

export interface MetricsServerOptions {
  tokens: OperatorTokens;
  metrics: Metrics;
  /** Brings the gauges read at scrape time up to date (slots in use). */
  refresh: () => Promise<void>;
  logger: Logger;
  host: string;
  port: number;
}

/**
 * The worker's `GET /metrics`, behind the same credentials as the API's (METRICS_TOKEN as
 * Bearer, or ADMIN_TOKEN / ADMIN_READONLY_TOKEN as Bearer or Basic), never anonymous: its
 * counters name upstream error codes and show the load. Resolves once it listens.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<Server> {
  const { metrics } = options;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (!mayScrapeMetrics(req.headers.authorization, options.tokens)) {
      // The realm the API's operator surfaces use, so one browser login covers both.
      res.writeHead(401, { 'www-authenticate': 'Basic realm="voxline", charset="UTF-8"' }).end();
      return;
    }
    options
      .refresh()
      .then(() => metrics.registry.metrics())
      .then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
        },
        (error: unknown) => {
          options.logger.warn({ err: error }, 'metrics scrape failed');
          res.writeHead(503).end();
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
