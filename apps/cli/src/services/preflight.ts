import { createConnection, createServer } from 'node:net';
import { CliError } from '../output.js';

/** A URL fit to print: its password, if any, masked. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** True when nothing listens on host:port (a listen succeeds), false when it is taken. */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export interface PortClaim {
  variable: string;
  host: string;
  port: number;
  /** What else the person may do than choose another port. */
  alternative?: string;
}

/** Fails, naming the variable to set, when a port a service needs is taken. */
export async function checkPorts(claims: PortClaim[]): Promise<void> {
  const problems: string[] = [];
  for (const claim of claims) {
    if (claim.port === 0) {
      problems.push(
        `${claim.variable} is 0 (any port); voxline start needs a fixed port to find the service`,
      );
    } else if (!(await portFree(claim.host, claim.port))) {
      problems.push(
        `port ${claim.port} on ${claim.host} is in use (${claim.variable}): stop what listens there, or set ${claim.variable} to a free port, e.g. ${claim.variable}=${claim.port + 1} pnpm start${claim.alternative ? `; ${claim.alternative}` : ''}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new CliError('port_in_use', 'a port voxline needs is not available', problems);
  }
}

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export function listens(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function checkRedis(redisUrl: string): Promise<void> {
  const u = new URL(redisUrl);
  const port = Number(u.port || 6379);
  if (!(await listens(u.hostname, port))) {
    throw new CliError(
      'redis_unreachable',
      `Redis does not answer at ${safeUrl(redisUrl)} (REDIS_URL); \`pnpm services\` starts one`,
    );
  }
}

/** Creates the database if needed and applies every migration (as the services would). */
export async function prepareDatabase(databaseUrl: string): Promise<void> {
  // Loaded here, not at the top: the other commands never touch the database.
  const { ensureDatabase, runMigrations } = await import('@voxline/db');
  try {
    await ensureDatabase(databaseUrl);
    await runMigrations(databaseUrl);
  } catch (error) {
    throw new CliError(
      'database_unavailable',
      `cannot prepare the database at ${safeUrl(databaseUrl)} (DATABASE_URL): ${(error as Error).message}; is Postgres running? \`pnpm services\` starts one`,
    );
  }
}
