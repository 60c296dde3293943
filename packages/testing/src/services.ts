import { execFileSync } from 'node:child_process';
import { listens } from './net.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';

const HOW_TO_START = `Start them with \`pnpm services\` (scripts/services.sh), or point TEST_DATABASE_URL and
TEST_REDIS_URL at a Postgres and a Redis you run, or install Docker so testcontainers can start them.`;

function serviceListens(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return listens(hostname, Number(port));
}

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

export interface Services {
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/**
 * Real Postgres and Redis for the test run: the URLs in TEST_DATABASE_URL / TEST_REDIS_URL
 * (defaulting to the local servers) when they answer; otherwise containers when Docker runs;
 * otherwise an error that says how to get them. Tests never skip for a missing service.
 */
export async function resolveServices(): Promise<Services> {
  const databaseUrl = process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL || DEFAULT_TEST_REDIS_URL;
  const [pgUp, redisUp] = await Promise.all([
    serviceListens(databaseUrl),
    serviceListens(redisUrl),
  ]);
  if (pgUp && redisUp) return { databaseUrl, redisUrl, stop: async () => {} };

  const explicit = process.env.TEST_DATABASE_URL || process.env.TEST_REDIS_URL;
  if (explicit || !dockerAvailable()) {
    const missing = [!pgUp && `Postgres at ${databaseUrl}`, !redisUp && `Redis at ${redisUrl}`]
      .filter(Boolean)
      .join(' and ');
    throw new Error(
      `voxline tests need real services, and ${missing} did not answer.\n${HOW_TO_START}`,
    );
  }

  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RedisContainer } = await import('@testcontainers/redis');
  const [pgContainer, redisContainer] = await Promise.all([
    pgUp ? null : new PostgreSqlContainer('postgres:16-alpine').withUsername('postgres').start(),
    redisUp
      ? null
      : new RedisContainer('redis:7-alpine')
          .withCommand(['redis-server', '--maxmemory-policy', 'noeviction'])
          .start(),
  ]);
  return {
    databaseUrl: pgContainer
      ? `postgres://postgres:${pgContainer.getPassword()}@${pgContainer.getHost()}:${pgContainer.getPort()}/postgres`
      : databaseUrl,
    redisUrl: redisContainer ? redisContainer.getConnectionUrl() : redisUrl,
    async stop() {
      await Promise.all([pgContainer?.stop(), redisContainer?.stop()]);
    },
  };
}
