import type { SimTaskView } from '@voxline/runninghub-sim';
import { check, type LineAudit } from '../observe.js';
import type { ScenarioResult } from '../report.js';
import { type Environment, Stack } from '../stack.js';
import { baseResult, narration, settle } from './common.js';

export interface UpstreamFaultsOptions {
  lines: number;
  seed: number;
  settleTimeoutMs: number;
}

export const UPSTREAM_FAULTS = {
  ci: { lines: 300, settleTimeoutMs: 180_000 },
  soak: { lines: 1_000, settleTimeoutMs: 600_000 },
} as const;

// The fatal codes a task may end with (content moderation, MiniMax clone rejections): the
// simulator's taskFail code is rotated through them while the batch runs.
const FATAL_TASK_CODES = ['1505', '1501', '2037', '2048', '20132'];
const REQUEST_TIMEOUT_MS = 800;
const POLL_DEADLINE_MS = 4_000;
const SUBMIT_MAX_ATTEMPTS = 8;

/**
 * The mix, drawn per request by the simulator: 10 % HTTP 5xx (500 and a gateway's 502),
 * 5 % HTTP 429, 5 % code 421 (upstream full), 2 % malformed JSON, 2 % answers slower than the
 * client's timeout; and per task, 5 % FAILED with a fatal code and 1 % never ending.
 */
const FAULTS = {
  http500: 0.05,
  http502: 0.05,
  http429: 0.05,
  code421: 0.05,
  malformedJson: 0.02,
  slowResponse: 0.02,
  taskFail: 0.05,
  taskNeverFinishes: 0.01,
} as const;

/**
 * One of each fault first, by script, so that even a small CI run exercises every path; the
 * probabilities take over after that.
 */
const OPENING_SCRIPT = [
  'taskNeverFinishes',
  'taskFail',
  'malformedJson',
  'slowResponse',
  'http502',
  'http500',
  'http429',
  'code421',
] as const;

type Expectation =
  | { status: 'succeeded' }
  | { status: 'failed'; code: string }
  | { status: 'failed'; exhausted: true };

/** What a line must end as, from the fate of the last task it followed upstream. */
function expectationFor(followed: string[], tasks: Map<string, SimTaskView>): Expectation {
  const last = followed.at(-1);
  const task = last ? tasks.get(last) : undefined;
  if (!task) return { status: 'failed', exhausted: true };
  if (task.finishesAt === null) return { status: 'failed', code: 'POLL_DEADLINE' };
  if (task.status === 'SUCCESS') return { status: 'succeeded' };
  if (task.status === 'FAILED') return { status: 'failed', code: task.errorCode };
  // CANCEL only follows a POLL_DEADLINE (the worker's best-effort cancel).
  return { status: 'failed', code: 'POLL_DEADLINE' };
}

function mismatches(audit: LineAudit, tasks: Map<string, SimTaskView>): string[] {
  const out: string[] = [];
  for (const job of audit.jobs) {
    const want = expectationFor(audit.followed.get(job.id) ?? [], tasks);
    if (want.status === 'succeeded') {
      if (job.status !== 'succeeded')
        out.push(`${job.id}: ${job.status} ${job.errorCode}, want succeeded`);
    } else if ('code' in want) {
      if (job.status !== 'failed' || job.errorCode !== want.code) {
        out.push(`${job.id}: ${job.status} ${job.errorCode}, want failed ${want.code}`);
      }
    } else if (job.status !== 'failed' || job.attempts < SUBMIT_MAX_ATTEMPTS) {
      // No task followed: the line may only fail after its submit attempts ran out.
      out.push(
        `${job.id}: ${job.status} ${job.errorCode} after ${job.attempts} attempts, want exhausted`,
      );
    }
  }
  return out;
}

/**
 * Every line must land where the fate of its task puts it: succeeded; failed with the very
 * fatal code its task ended with; failed POLL_DEADLINE when its task never ends; failed after
 * its attempts ran out only if no submit ever got through. The simulator's task list is the
 * key: each task names its line through the custom_voice_id suffix.
 */
export async function upstreamFaultsScenario(
  env: Environment,
  options: UpstreamFaultsOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const stack = await Stack.start(env, {
    name: 'upstream-faults',
    sim: {
      seed: options.seed,
      // Room for tasks the workers lost track of (ambiguous submits): they still run upstream.
      maxInFlight: 100,
      durations: { baseMs: 150, perCharMs: 2, sigma: 0.3 },
      faults: FAULTS,
      script: { submit: [...OPENING_SCRIPT] },
      slowResponseMs: REQUEST_TIMEOUT_MS * 2,
      retryAfterS: 0.2,
      taskFailCode: FATAL_TASK_CODES[0],
    },
    workerEnv: {
      RUNNINGHUB_MAX_IN_FLIGHT: '8',
      RUNNINGHUB_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      SUBMIT_MAX_ATTEMPTS: String(SUBMIT_MAX_ATTEMPTS),
      // About 18 % of queries fail; ten in a row is a one-in-a-billion event per line.
      POLL_MAX_QUERY_ERRORS: '10',
      POLL_DEADLINE_MS: String(POLL_DEADLINE_MS),
    },
  });
  let rotation: NodeJS.Timeout | undefined;
  try {
    await stack.startApi();
    const tenant = await stack.tenant('faults');
    await stack.startWorker();
    await stack.startWorker();
    let turn = 0;
    rotation = setInterval(() => {
      turn += 1;
      stack.sim.setScenario({ taskFailCode: FATAL_TASK_CODES[turn % FATAL_TASK_CODES.length] });
    }, 150);
    await stack.submitBatch(tenant, narration(options.lines, 'faults'));
    env.progress(`upstream-faults: ${options.lines} lines accepted`);
    const { audit, checks } = await settle(stack, options.lines, options.settleTimeoutMs);
    clearInterval(rotation);

    const tasks = new Map(stack.sim.tasks().map((t) => [t.taskId, t]));
    const wrong = mismatches(audit, tasks);
    const stats = stack.sim.stats();
    const failedTasks = [...tasks.values()].filter((t) => t.status === 'FAILED');
    const neverEnding = [...tasks.values()].filter((t) => t.finishesAt === null).length;
    const { taskFail: _f, taskNeverFinishes: _n, ...requestFaults } = stats.errorsInjected;
    return {
      ...baseResult('upstream-faults', 'Upstream faults', started, audit),
      faults: `${Object.values(stats.errorsInjected).reduce((a, b) => a + b, 0)} faults over ${stats.submits} submits and ${stats.queries.total} queries`,
      faultCounts: {
        ...requestFaults,
        'tasks FAILED (fatal code)': failedTasks.length,
        'tasks never ending': neverEnding,
      },
      recoveryMs: [],
      checks: [
        ...checks,
        // Bounds from the simulator's own count, not from what the worker chose to log.
        check(
          'extra upstream tasks <= ambiguous submits injected (the simulator damaged or delayed the answer of an accepted submit)',
          audit.extraTasks <= stats.ambiguousSubmits,
          `${audit.extraTasks} extra tasks, ${stats.ambiguousSubmits} injected`,
        ),
        check(
          'upstream tasks no line followed <= ambiguous submits injected',
          audit.orphanTasks <= stats.ambiguousSubmits,
          `${audit.orphanTasks} orphan tasks, ${stats.ambiguousSubmits} injected`,
        ),
        check(
          'every line ended as its task did (succeeded / the fatal code / POLL_DEADLINE)',
          wrong.length === 0,
          wrong.length
            ? `${wrong.length} lines: ${wrong.slice(0, 5).join('; ')}`
            : `${audit.lines} lines`,
        ),
        check(
          'no task FAILED other than with an injected fatal code',
          failedTasks.every((t) => FATAL_TASK_CODES.includes(t.errorCode)),
          failedTasks
            .filter((t) => !FATAL_TASK_CODES.includes(t.errorCode))
            .map((t) => t.errorCode)
            .join(',') || `${failedTasks.length} failed tasks`,
        ),
      ],
      notes: [
        `Simulator: ${stats.submits} submits, ${stats.accepted} tasks accepted, ${stats.ambiguousSubmits} of them answered damaged or late, ${stats.queries.total} queries; ${audit.orphanTasks} tasks orphaned by ambiguous submits (${audit.ambiguous} counted by the worker).`,
        `Client timeout ${REQUEST_TIMEOUT_MS} ms against slow answers of ${REQUEST_TIMEOUT_MS * 2} ms; POLL_DEADLINE_MS ${POLL_DEADLINE_MS}; SUBMIT_MAX_ATTEMPTS ${SUBMIT_MAX_ATTEMPTS}.`,
      ],
    };
  } finally {
    clearInterval(rotation);
    await stack.close();
  }
}
