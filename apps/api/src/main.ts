import { type Config, ConfigError, loadConfig } from '@voxline/config';
import { createDb, ensureDatabase, runMigrations } from '@voxline/db';
import { createLogger } from '@voxline/logger';
import { closeQueues, createQueues, createRedis, redisTarget } from '@voxline/queue';
import { buildApp } from './app.js';

/**
 * `pnpm start:api`: migrate, then serve until SIGTERM/SIGINT. The first signal closes the
 * server (in-flight requests finish), the queues, Redis and the pool, and exits 0; a second
 * signal exits at once.
 */

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const cfg = config();
  const logger = createLogger({
    name: 'api',
    level: cfg.LOG_LEVEL,
    secrets: [cfg.ADMIN_TOKEN, cfg.ADMIN_READONLY_TOKEN, cfg.METRICS_TOKEN, cfg.RUNNINGHUB_API_KEY],
  });

  // A fresh machine needs no manual step: create the database and bring its schema up to date
  // (serialised by an advisory lock with any worker starting at the same time).
  try {
    await ensureDatabase(cfg.DATABASE_URL);
    await runMigrations(cfg.DATABASE_URL);
  } catch (error) {
    logger.fatal({ err: error }, 'cannot prepare the database; is Postgres running?');
    process.exit(1);
  }
  logger.info('database migrated');

  const pg = createDb({
    url: cfg.DATABASE_URL,
    max: cfg.DATABASE_POOL_MAX,
    applicationName: 'voxline-api',
  });
  const redis = createRedis(redisTarget(cfg), 'producer');
  const queues = createQueues(redis, cfg.QUEUE_PREFIX);
  const app = await buildApp({ config: cfg, db: pg.db, redis, queues, logger });

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await app.close();
      await closeQueues(queues);
      redis.disconnect();
      await pg.close();
      logger.info('shut down cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

  await app.listen({ host: cfg.HOST, port: cfg.PORT });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
