import { ConfigError, loadConfig } from '@voxline/config';
import { ensureDatabase, runMigrations } from '@voxline/db';
import { createLogger } from '@voxline/logger';
import { createMetrics } from '@voxline/metrics';
import { startMetricsServer } from './metrics-server.js';
import { startWorkers } from './runtime.js';
import { refreshSlotMetrics } from './slot-metrics.js';
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
    ? await startMetricsServer({
        tokens: config,
        metrics,
        refresh: () => refreshSlotMetrics(metrics, runtime.context.accounts),
        logger,
        host: config.HOST,
        port: config.WORKER_METRICS_PORT,
      })
    : null;
logger.info(
  { concurrency: config.WORKER_CONCURRENCY, slots: config.RUNNINGHUB_MAX_IN_FLIGHT },
  'worker started',
);

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
