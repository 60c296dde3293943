import { check, recoveryAfter } from '../observe.js';
import type { ScenarioResult } from '../report.js';
import { type Environment, Stack } from '../stack.js';
import { allSucceededCheck, baseResult, narration, settle, waitForTerminal } from './common.js';

export interface GracefulShutdownOptions {
  lines: number;
  /** SIGTERMs, spread evenly over the batch. */
  stops: number;
  seed: number;
  settleTimeoutMs: number;
}

export const GRACEFUL_SHUTDOWN = {
  ci: { lines: 200, stops: 3, settleTimeoutMs: 180_000 },
  soak: { lines: 600, stops: 8, settleTimeoutMs: 600_000 },
} as const;

const SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * The worker carrying a batch gets SIGTERM (a deploy, a scale-down) several times, each time
 * with submits and polls in flight (upstream answers are slowed to 300 ms so that some are).
 * It must finish its active steps and exit 0 within SHUTDOWN_TIMEOUT_MS; a new worker takes
 * over, and since nothing was cut short, no line may be submitted upstream twice.
 */
export async function gracefulShutdownScenario(
  env: Environment,
  options: GracefulShutdownOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const stack = await Stack.start(env, {
    name: 'graceful-shutdown',
    sim: {
      seed: options.seed,
      durations: { baseMs: 200, perCharMs: 2, sigma: 0.3 },
      slowResponseMs: 300,
      faultsByEndpoint: { submit: { slowResponse: 0.5 }, query: { slowResponse: 0.2 } },
    },
    workerEnv: { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
  });
  try {
    await stack.startApi();
    const tenant = await stack.tenant('shutdown');
    let worker = await stack.startWorker();
    await stack.submitBatch(tenant, narration(options.lines, 'shutdown'));

    const stops: Array<{
      code: number | null;
      signal: string | null;
      ms: number;
      drained: boolean;
    }> = [];
    const recoveries: number[] = [];
    for (let i = 1; i <= options.stops; i++) {
      await waitForTerminal(stack, Math.floor((options.lines * i) / (options.stops + 1)));
      const at = Date.now();
      const exit = await worker.stop('SIGTERM');
      stops.push({
        code: exit.code,
        signal: exit.signal,
        ms: Date.now() - at,
        drained: !worker.output().includes('did not end in time'),
      });
      worker = await stack.startWorker();
      const recovery = await recoveryAfter(stack, new Date(at), 60_000);
      if (recovery !== null) recoveries.push(recovery);
      env.progress(`graceful-shutdown: stop ${i} exited ${exit.code} after ${Date.now() - at} ms`);
    }

    const { audit, checks } = await settle(stack, options.lines, options.settleTimeoutMs);
    const slowest = Math.max(...stops.map((s) => s.ms));
    return {
      ...baseResult('graceful-shutdown', 'Graceful shutdown (SIGTERM)', started, audit),
      faults: `${stops.length} SIGTERMs of the worker mid-batch`,
      faultCounts: { SIGTERM: stops.length },
      recoveryMs: recoveries,
      checks: [
        ...checks,
        check(
          'every SIGTERMed worker exited 0',
          stops.every((s) => s.code === 0 && s.signal === null),
          stops.map((s) => `${s.code ?? s.signal}`).join(', '),
        ),
        check(
          `every SIGTERMed worker exited within SHUTDOWN_TIMEOUT_MS (${SHUTDOWN_TIMEOUT_MS} ms)`,
          slowest <= SHUTDOWN_TIMEOUT_MS,
          `exit after ${stops.map((s) => s.ms).join(', ')} ms`,
        ),
        check(
          'active steps drained (no forced close)',
          stops.every((s) => s.drained),
          `${stops.filter((s) => !s.drained).length} forced`,
        ),
        check(
          'no line submitted upstream twice',
          audit.extraTasks === 0 && audit.ambiguous === 0,
          `${audit.extraTasks} extra tasks, ${audit.ambiguous} ambiguous submits`,
        ),
        allSucceededCheck(audit),
      ],
      notes: [`Exit times after SIGTERM (ms): ${stops.map((s) => s.ms).join(', ')}.`],
    };
  } finally {
    await stack.close();
  }
}
