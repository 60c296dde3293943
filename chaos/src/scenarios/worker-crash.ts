import { mulberry32 } from '@voxline/runninghub-sim';
import { between, pause } from '../infra/pace.js';
import { check, countLines, recoveryAfter } from '../observe.js';
import type { ScenarioResult } from '../report.js';
import { type Environment, Stack } from '../stack.js';
import { allSucceededCheck, baseResult, eventCount, narration, settle } from './common.js';

export interface WorkerCrashOptions {
  lines: number;
  /** SIGKILLs to land before the batch ends. */
  kills: number;
  seed: number;
  settleTimeoutMs: number;
}

const SLOTS = 10;

export const WORKER_CRASH = {
  ci: { lines: 300, kills: 4, settleTimeoutMs: 180_000 },
  soak: { lines: 1_000, kills: 12, settleTimeoutMs: 600_000 },
} as const;

/**
 * One worker process at a time carries a batch and is SIGKILLed at random moments, each time
 * replaced by a fresh one. With a concurrency of 50 and ten upstream slots, a kill lands among
 * submits in flight, polls and result storage alike; the short random intervals (50 ms to
 * 1.5 s after the new worker takes jobs) and upstream answers slowed to 400 ms spread the kills
 * across those phases, and the events afterwards say which windows were hit (an ambiguous
 * submit, a poll job adopting its task).
 */
export async function workerCrashScenario(
  env: Environment,
  options: WorkerCrashOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const random = mulberry32(options.seed);
  const stack = await Stack.start(env, {
    name: 'worker-crash',
    // Upstream latency (under the client timeout: not a fault the worker sees) widens the
    // submit and poll windows, so that kills land inside HTTP calls as well as between them.
    sim: {
      maxInFlight: SLOTS,
      seed: options.seed,
      durations: { baseMs: 150, perCharMs: 2, sigma: 0.4 },
      slowResponseMs: 400,
      faultsByEndpoint: { submit: { slowResponse: 0.5 }, query: { slowResponse: 0.2 } },
    },
    workerEnv: { RUNNINGHUB_MAX_IN_FLIGHT: String(SLOTS) },
  });
  try {
    await stack.startApi();
    const tenant = await stack.tenant('crash');
    let worker = await stack.startWorker();
    await stack.submitBatch(tenant, narration(options.lines, 'crash'));
    env.progress(`worker-crash: ${options.lines} lines accepted`);

    const recoveries: number[] = [];
    let kills = 0;
    let missedRecoveries = 0;
    while (kills < options.kills) {
      await pause(between(random, 50, 1_500));
      if ((await countLines(stack.db)).active === 0) break;
      const at = new Date();
      await worker.stop('SIGKILL');
      kills += 1;
      worker = await stack.startWorker();
      const recovery = await recoveryAfter(stack, at, 60_000);
      if (recovery === null) missedRecoveries += 1;
      else recoveries.push(recovery);
      env.progress(`worker-crash: kill ${kills}, next line finished after ${recovery} ms`);
    }

    const { audit, checks } = await settle(stack, options.lines, options.settleTimeoutMs);
    const adopted = await eventCount(stack, 'transition', 'adopted');
    const exit = await worker.stop('SIGTERM');
    return {
      ...baseResult('worker-crash', 'Worker SIGKILLs', started, audit),
      faults: `${kills} SIGKILLs of the worker process`,
      faultCounts: {
        SIGKILL: kills,
        'kills in the submit window (ambiguous)': audit.ambiguous,
        'polls adopting an unrecorded task': adopted,
      },
      recoveryMs: recoveries,
      checks: [
        ...checks,
        check(
          `at least ${options.kills} kills landed while lines were active`,
          kills >= options.kills,
          `${kills} kills`,
        ),
        check(
          'a line finished after every kill (the replacement took over)',
          missedRecoveries === 0,
          `${missedRecoveries} kills without progress within 60 s`,
        ),
        // A bound the worker cannot talk itself into: a kill can strand at most the submits in
        // flight, and upstream (the simulator, maxInFlight) holds at most SLOTS at once.
        check(
          `extra upstream tasks <= kills x slots in flight (${kills} x ${SLOTS})`,
          audit.extraTasks <= kills * SLOTS,
          `${audit.extraTasks} extra tasks`,
        ),
        check(
          `upstream tasks no line followed <= kills x slots in flight (${kills} x ${SLOTS})`,
          audit.orphanTasks <= kills * SLOTS,
          `${audit.orphanTasks} orphan tasks`,
        ),
        allSucceededCheck(audit),
        check('the last worker stops cleanly on SIGTERM', exit.code === 0, JSON.stringify(exit)),
      ],
      notes: [
        `${audit.extraTasks} upstream tasks beyond one per line, ${audit.orphanTasks} never followed by their line; ${audit.ambiguous} ambiguous submits counted.`,
      ],
    };
  } finally {
    await stack.close();
  }
}
