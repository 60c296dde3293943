import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, loadConfig, WORKER_NODE_ARGS } from '@voxline/config';
import { CliError, reportError } from '../output.js';
import { printLine } from '../watch/progress.js';
import { serviceEnv } from './child-env.js';
import { formatLogLine } from './log-format.js';
import {
  checkPorts,
  checkRedis,
  listens,
  type PortClaim,
  prepareDatabase,
  safeUrl,
} from './preflight.js';
import { type ChildExit, Supervisor } from './supervisor.js';

// Resolved from this file, so `voxline start` works from any directory: dist/services/ of
// apps/cli is four levels below the repository.
const repo = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));
export const SERVICE_SCRIPTS = {
  sim: repo('packages/runninghub-sim/dist/main.js'),
  api: repo('apps/api/dist/main.js'),
  worker: repo('apps/worker/dist/main.js'),
} as const;

const READY_POLL_MS = 250;
// After SIGTERM a worker lets active steps finish for up to SHUTDOWN_TIMEOUT_MS; a little more
// before it is killed.
const STOP_MARGIN_MS = 5_000;

export interface RunningStack {
  /** The configuration the services run with (the CLI's plus overrides). */
  config: Config;
  apiUrl: string;
  simUrl: string | null;
  running(): Array<{ name: string; pid: number }>;
  /** A line for the person watching (or a JSON log line with --json). */
  say(message: string, level?: 'info' | 'warn' | 'error'): void;
}

export interface StackOptions {
  config: Config;
  /** Settings for the services on top of the CLI's environment (the demo's). */
  overrides?: Record<string, string>;
  json: boolean;
  readyTimeoutMs: number;
  /** Runs once everything is ready; the services keep running after it until a signal. */
  afterReady?: (stack: RunningStack, signal: AbortSignal) => Promise<void>;
  /** Said before the services start (the demo's settings). */
  preamble?: string[];
}

/** A loopback address to reach a service listening on `host`. */
export function reachableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function hostPort(host: string, port: number): string {
  const h = reachableHost(host);
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

const LEVEL_NUMBER = { info: 30, warn: 40, error: 50 } as const;

function isChildExit(value: unknown): value is ChildExit {
  return typeof value === 'object' && value !== null && 'name' in value && 'signal' in value;
}

async function waitReady(
  config: Config,
  apiUrl: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<'ready'> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  const probe = async (url: string, headers: Record<string, string> = {}) => {
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) });
      const text = await response.text();
      if (response.ok) return true;
      last = `${url} answered ${response.status}: ${text.slice(0, 300)}`;
    } catch (error) {
      last = `${url}: ${(error as Error).message}`;
    }
    return false;
  };
  const metrics =
    config.WORKER_METRICS_PORT > 0
      ? `${hostPort(config.HOST, config.WORKER_METRICS_PORT)}/metrics`
      : null;
  let apiReady = false;
  // The worker answers /metrics once its workers are running; without that port, a worker
  // process that is alive counts (its jobs are durable: it takes them whenever it is up).
  let workerReady = metrics === null;
  while (!signal.aborted) {
    apiReady ||= await probe(`${apiUrl}/readyz`);
    if (metrics) {
      // The worker's /metrics is never anonymous: the scrape token, else the admin token.
      const auth = { authorization: `Bearer ${config.METRICS_TOKEN ?? config.ADMIN_TOKEN}` };
      workerReady ||= await probe(metrics, auth);
    }
    if (apiReady && workerReady) return 'ready';
    if (Date.now() > deadline) {
      throw new CliError(
        'not_ready',
        `voxline was not ready within ${Math.round(timeoutMs / 1000)} s`,
        [last],
      );
    }
    await sleep(READY_POLL_MS, undefined, { signal }).catch(() => {});
  }
  return 'ready';
}

/**
 * `voxline start`: checks ports, Redis and the database (creating it and applying
 * migrations), runs the simulator (when RUNNINGHUB_BASE_URL is unset), the API and the worker
 * as child processes, waits until they are ready, and serves until SIGINT/SIGTERM/SIGHUP,
 * then stops them all. A service that dies on its own stops the rest. Returns the exit code.
 */
export async function runStack(options: StackOptions): Promise<number> {
  const say = (message: string, level: 'info' | 'warn' | 'error' = 'info') => {
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ level: LEVEL_NUMBER[level], time: Date.now(), name: 'voxline', msg: message })}\n`,
      );
    } else {
      printLine(
        formatLogLine(
          'voxline',
          JSON.stringify({ level: LEVEL_NUMBER[level], time: Date.now(), msg: message }),
          7,
        ),
      );
    }
  };

  const env = serviceEnv(options.config, options.overrides);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CliError(
      'invalid_config',
      'the services would not accept this configuration',
      error.problems.map((p) => `${p.variable}: ${p.message}`),
    );
  }
  const simulated = !config.RUNNINGHUB_BASE_URL;
  const missing = Object.entries(SERVICE_SCRIPTS)
    .filter(([name, script]) => (simulated || name !== 'sim') && !existsSync(script))
    .map(([, script]) => script);
  if (missing.length > 0) {
    throw new CliError('not_built', 'the services are not built: run `pnpm build`', missing);
  }

  const claims: PortClaim[] = [{ variable: 'PORT', host: config.HOST, port: config.PORT }];
  if (simulated)
    claims.push({ variable: 'SIM_PORT', host: config.SIM_HOST, port: config.SIM_PORT });
  if (config.WORKER_METRICS_PORT > 0) {
    claims.push({
      variable: 'WORKER_METRICS_PORT',
      host: config.HOST,
      port: config.WORKER_METRICS_PORT,
      alternative: "WORKER_METRICS_PORT=0 turns the worker's metrics endpoint off",
    });
  }
  await checkPorts(claims);
  await checkRedis(config.REDIS_URL);
  for (const line of options.preamble ?? []) say(line);
  await prepareDatabase(config.DATABASE_URL);
  say(`database ready (migrations applied): ${safeUrl(config.DATABASE_URL)}`);

  const apiUrl = hostPort(config.HOST, config.PORT);
  const simUrl = simulated ? hostPort(config.SIM_HOST, config.SIM_PORT) : null;
  if (simUrl) {
    say('*'.repeat(78), 'warn');
    say(
      `* using the RunningHub SIMULATOR at ${simUrl}, not RunningHub: RUNNINGHUB_BASE_URL is unset`,
      'warn',
    );
    say('* audio is generated locally (tones, not voices) and nothing is paid for.', 'warn');
    say('* set RUNNINGHUB_BASE_URL and RUNNINGHUB_API_KEY to use the real RunningHub.', 'warn');
    say('*'.repeat(78), 'warn');
  } else {
    say(`upstream: RunningHub at ${config.RUNNINGHUB_BASE_URL}`);
  }

  const supervisor = new Supervisor({
    onLine: (service, line) => {
      if (options.json) process.stdout.write(`${line}\n`);
      else printLine(formatLogLine(service, line, 7));
    },
    stopTimeoutMs: config.SHUTDOWN_TIMEOUT_MS + STOP_MARGIN_MS,
  });
  const stopController = new AbortController();
  const stopRequested = new Promise<'stop'>((resolve) => {
    stopController.signal.addEventListener('abort', () => resolve('stop'), { once: true });
  });
  let stopSignal: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal) {
      // The terminal closing while we stop is no reason to hurry; a second Ctrl-C is.
      if (signal === 'SIGHUP') return;
      say(`second ${signal}: killing the services now`, 'warn');
      supervisor.killAll();
      process.exit(1);
    }
    stopSignal = signal;
    stopController.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Output to a terminal that went away must not crash us halfway through stopping.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});

  const readiness = new AbortController();
  const serve = async (): Promise<void> => {
    if (simUrl) {
      supervisor.start('sim', SERVICE_SCRIPTS.sim, env);
      const simUp = (async () => {
        const deadline = Date.now() + options.readyTimeoutMs;
        while (!(await listens(reachableHost(config.SIM_HOST), config.SIM_PORT, 500))) {
          // Lost the race (the simulator died, or Ctrl-C): stop probing.
          if (readiness.signal.aborted) return 'ready' as const;
          if (Date.now() > deadline) {
            throw new CliError('not_ready', `the simulator did not listen on ${simUrl}`);
          }
          await sleep(100);
        }
        return 'ready' as const;
      })();
      if ((await Promise.race([simUp, supervisor.failure, stopRequested])) === 'stop') return;
    }
    supervisor.start('api', SERVICE_SCRIPTS.api, env);
    supervisor.start('worker', SERVICE_SCRIPTS.worker, env, WORKER_NODE_ARGS);
    const ready = await Promise.race([
      waitReady(config, apiUrl, readiness.signal, options.readyTimeoutMs),
      supervisor.failure,
      stopRequested,
    ]);
    if (ready === 'stop') return;

    const stack: RunningStack = {
      config,
      apiUrl,
      simUrl,
      running: () => supervisor.running(),
      say,
    };
    say(`ready at ${apiUrl}`);
    say(`  producer API  ${apiUrl}/v1  (a tenant's key: voxline tenants create NAME)`);
    say(`  Bull Board    ${apiUrl}/admin/queues  (user admin, password = ADMIN_TOKEN)`);
    say(`  API docs      ${apiUrl}/docs`);
    say(
      `  upstream      ${simUrl ? `SIMULATOR at ${simUrl}` : `RunningHub at ${config.RUNNINGHUB_BASE_URL}`}`,
    );
    say(
      `  processes     ${supervisor
        .running()
        .map((s) => `${s.name} ${s.pid}`)
        .join(', ')}`,
    );
    if (options.afterReady) {
      await Promise.race([
        options.afterReady(stack, stopController.signal),
        supervisor.failure,
        stopRequested,
      ]);
    }
    if (!stopController.signal.aborted) say('serving; Ctrl-C stops everything');
    await Promise.race([supervisor.failure, stopRequested]);
  };

  let exitCode = 0;
  try {
    await serve();
  } catch (error) {
    exitCode = 1;
    if (isChildExit(error)) {
      const how = error.signal ? `was killed by ${error.signal}` : `exited with code ${error.code}`;
      say(`the ${error.name} service ${how} unexpectedly; stopping the others`, 'error');
    } else {
      reportError(error, options.json);
    }
  } finally {
    readiness.abort();
    say(
      `stopping${stopSignal ? ` (${stopSignal})` : ''}: the API and the worker${simUrl ? ', then the simulator' : ''}`,
    );
    const clean = await supervisor.stop(['api', 'worker']);
    if (clean) say('stopped');
    else say('stopped, but not every service exited cleanly (see above)', 'warn');
    if (!clean) exitCode = 1;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  return exitCode;
}
