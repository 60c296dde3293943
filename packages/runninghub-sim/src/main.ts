import { ConfigError, loadConfig, parseList } from '@voxline/config';
import { createLogger } from '@voxline/logger';
import { simOptionsFromConfig } from './options.js';
import { startSimulator } from './server.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({
    name: 'runninghub-sim',
    level: config.LOG_LEVEL,
    secrets: [config.SIM_CONTROL_TOKEN, ...parseList(config.SIM_API_KEYS)],
  });
  const sim = await startSimulator({ ...simOptionsFromConfig(config), logger });
  logger.info(
    { url: sim.url, maxInFlight: config.SIM_MAX_IN_FLIGHT, seed: config.SIM_SEED },
    `RunningHub simulator listening on ${sim.url}`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'RunningHub simulator stopping');
    sim.close().catch((error: unknown) => {
      logger.error({ err: error }, 'RunningHub simulator failed to close');
      process.exitCode = 1;
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
});
