import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { ConfigError, loadConfig } from '@voxline/config';
import { ensureDatabase, runMigrations } from '@voxline/db';
import { createLogger } from '@voxline/logger';
import { createMetrics } from '@voxline/metrics';
import { startWorkers } from './runtime.js';
import { resolveUpstream } from './upstream.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}

const logger = createLogger({
  name: 'voxline-worker',
  level: config.LOG_LEVEL,
  secrets: [
    config.RUNNINGHUB_API_KEY,
    config.ADMIN_TOKEN,
    config.SIM_CONTROL_TOKEN,
    config.METRICS_TOKEN,
  ],
});

const upstream = resolveUpstream(config);
if (upstream.simulated) {
  logger.warn(
    { baseUrl: upstream.baseUrl },
    'RUNNINGHUB_BASE_URL is not set: using the RunningHub SIMULATOR',
  );
}

await ensureDatabase(config.DATABASE_URL);
await runMigrations(config.DATABASE_URL);
const metrics = createMetrics();
const runtime = await startWorkers({ config, logger, upstream, metrics });

const metricsServer =
  config.WORKER_METRICS_PORT > 0
    ? createServer(async (req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        if (!metricsAuthorized(req.headers.authorization)) {
          res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
          return;
        }
        metrics.slotsInUse.set(await runtime.context.slots.inUse());
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      }).listen(config.WORKER_METRICS_PORT, config.HOST)
    : null;
logger.info(
  { concurrency: config.WORKER_CONCURRENCY, slots: config.RUNNINGHUB_MAX_IN_FLIGHT },
  'worker started',
);

// With METRICS_TOKEN set, a scrape must present it, as on the API's /metrics.
function metricsAuthorized(header: string | undefined): boolean {
  if (!config.METRICS_TOKEN) return true;
  const expected = Buffer.from(`Bearer ${config.METRICS_TOKEN}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'stopping: finishing active steps');
  metricsServer?.close();
  await runtime.close();
  logger.info('worker stopped');
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
