import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '@voxline/config';
import { serverDatabases } from './infra/databases.js';
import { check } from './observe.js';
import {
  failedChecks,
  machineLine,
  measured,
  renderReport,
  type ScenarioResult,
  unmeasuredResult,
} from './report.js';
import { GRACEFUL_SHUTDOWN, gracefulShutdownScenario } from './scenarios/graceful-shutdown.js';
import { HOSTILE_INPUT, hostileInputScenario } from './scenarios/hostile/hostile-input.js';
import { POSTGRES_OUTAGE, postgresOutageScenario } from './scenarios/postgres-outage.js';
import { REDIS_RESTART, redisLossScenario, redisRestartScenario } from './scenarios/redis.js';
import { securityScenario } from './scenarios/security.js';
import { UPSTREAM_FAULTS, upstreamFaultsScenario } from './scenarios/upstream-faults.js';
import { WORKER_CRASH, workerCrashScenario } from './scenarios/worker-crash.js';
import type { Environment } from './stack.js';

/**
 * `pnpm chaos`: every scenario of the CI suite, with the soak sizes (1,000 lines, a dozen
 * kills, thousands of hostile requests), one after the other on this machine. Prints the
 * report and, for a full soak run, writes it to chaos/results.md. Exits 1 if any check failed.
 *
 *   node chaos/dist/run.js [--quick] [--only worker-crash,redis-loss] [--seed 1] [--out file]
 *
 * --quick uses the CI sizes (to try the runner); --only runs some scenarios. Neither writes
 * chaos/results.md unless --out names it.
 */

const RESULTS_FILE = fileURLToPath(new URL('../results.md', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIOME = join(REPO, 'node_modules/.bin/biome');

/**
 * The repository's formatter also formats Markdown (`pnpm lint` checks it): the committed
 * report is written as biome would write it (padded table columns), so lint stays clean.
 */
function formatMarkdown(file: string): void {
  // biome formats files of the repository only (it fails on others).
  if (!resolve(file).startsWith(REPO)) return;
  if (!existsSync(BIOME)) {
    console.warn(`biome not found at ${BIOME}: ${file} is left unformatted`);
    return;
  }
  const result = spawnSync(BIOME, ['format', '--write', resolve(file)], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (result.status !== 0) console.warn(`biome could not format ${file}: ${result.stderr}`);
}

type Mode = 'ci' | 'soak';

const SCENARIOS: Record<
  string,
  (env: Environment, mode: Mode, seed: number) => Promise<ScenarioResult>
> = {
  'hostile-input': (env, mode, seed) => hostileInputScenario(env, { ...HOSTILE_INPUT[mode], seed }),
  security: (env, _mode, seed) => securityScenario(env, { seed }),
  'upstream-faults': (env, mode, seed) =>
    upstreamFaultsScenario(env, { ...UPSTREAM_FAULTS[mode], seed }),
  'graceful-shutdown': (env, mode, seed) =>
    gracefulShutdownScenario(env, { ...GRACEFUL_SHUTDOWN[mode], seed }),
  'worker-crash': (env, mode, seed) => workerCrashScenario(env, { ...WORKER_CRASH[mode], seed }),
  'redis-restart': (env, mode, seed) => redisRestartScenario(env, { ...REDIS_RESTART[mode], seed }),
  'redis-loss': (env, mode, seed) => redisLossScenario(env, { ...REDIS_RESTART[mode], seed }),
  'postgres-outage': (env, mode, seed) =>
    postgresOutageScenario(env, { ...POSTGRES_OUTAGE[mode], seed }),
};

function crashed(name: string, started: number, error: unknown): ScenarioResult {
  // The scenario did not get as far as measuring anything.
  return unmeasuredResult(
    {
      scenario: name,
      title: name,
      lines: 0,
      faults: 'the scenario itself failed',
      faultCounts: {},
      checks: [
        check('the scenario ran to the end', false, String((error as Error)?.stack ?? error)),
      ],
    },
    started,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
    },
  });
  const mode: Mode = values.quick ? 'ci' : 'soak';
  const seed = Number(values.seed);
  const names = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(SCENARIOS);
  for (const name of names) {
    if (!SCENARIOS[name])
      throw new Error(`no scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  }

  // The same Postgres and Redis as the rest of the project (DATABASE_URL, REDIS_URL): each
  // scenario makes a database of its own there and a queue prefix of its own.
  const config = loadConfig();
  const server = new URL(config.DATABASE_URL);
  server.pathname = '/postgres';
  const workDir = await mkdtemp(join(tmpdir(), 'voxline-chaos-soak-'));
  const env: Environment = {
    createDatabase: serverDatabases(server.toString()),
    redisUrl: config.REDIS_URL,
    workDir,
    progress: (message) => console.log(`${new Date().toISOString()} ${message}`),
  };

  const started = Date.now();
  const results: ScenarioResult[] = [];
  for (const [i, name] of names.entries()) {
    const run = SCENARIOS[name] as (typeof SCENARIOS)[string];
    console.log(`\n== ${name} (${mode}) ==`);
    const at = Date.now();
    const result = await run(env, mode, seed + i).catch((error: unknown) =>
      crashed(name, at, error),
    );
    results.push(result);
    const failed = failedChecks(result);
    console.log(
      `${name}: ${failed.length === 0 ? 'pass' : `FAIL\n  ${failed.join('\n  ')}`} (${Math.round(result.durationMs / 1000)} s, ${result.lines} lines, ${measured(result.lost)} lost)`,
    );
  }

  const report = renderReport(results, {
    machine: machineLine(),
    mode: mode === 'soak' ? 'soak (`pnpm chaos`)' : 'quick (CI sizes)',
    seed,
    totalMs: Date.now() - started,
    logDir: workDir,
  });
  console.log(`\n${report}`);
  const out = values.out ?? (mode === 'soak' && !values.only ? RESULTS_FILE : undefined);
  if (out) {
    await writeFile(out, `${report}\n`);
    formatMarkdown(out);
    console.log(`report written to ${out}`);
  }
  process.exitCode = results.some((r) => failedChecks(r).length > 0) ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
