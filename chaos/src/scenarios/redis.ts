import { ThrowawayRedis } from '@voxline/testing/redis-server';
import { waitFor } from '@voxline/testing/wait';
import type { HttpResponse } from '../infra/http.js';
import { pause } from '../infra/pace.js';
import { type Check, check, lastTerminalAt, recoveryAfter } from '../observe.js';
import type { ScenarioResult } from '../report.js';
import { AUDIO_URL, type Environment, Stack, VOICE_ID } from '../stack.js';
import {
  allSucceededCheck,
  baseResult,
  narration,
  settle,
  survivedCheck,
  waitForTerminal,
} from './common.js';

export interface RedisOptions {
  lines: number;
  /** How long Redis stays away. */
  downMs: number;
  /** Lines submitted through the API while Redis is away. */
  linesWhileDown: number;
  seed: number;
  settleTimeoutMs: number;
}

export const REDIS_RESTART = {
  ci: { lines: 200, downMs: 3_000, linesWhileDown: 10, settleTimeoutMs: 120_000 },
  soak: { lines: 1_000, downMs: 10_000, linesWhileDown: 50, settleTimeoutMs: 600_000 },
} as const;

interface Probe {
  what: string;
  response: HttpResponse | null;
  error?: string;
}

/** What the API says while Redis is away: the documented answers, route by route. */
function outageChecks(probes: Probe[]): Check[] {
  const find = (what: string) => probes.find((p) => p.what === what);
  const batch = find('POST /v1/batches');
  const read = find('GET /v1/batches/:id');
  const ready = find('GET /readyz');
  const health = find('GET /healthz');
  const readyBody = ready?.response?.json as { error?: { details?: { failed?: string[] } } };
  return [
    check(
      'the API accepts a batch while Redis is down (202: Postgres is the record)',
      batch?.response?.status === 202,
      `${batch?.response?.status ?? batch?.error} ${batch?.response?.text.slice(0, 200) ?? ''}`,
    ),
    check(
      'the API serves reads while Redis is down',
      read?.response?.status === 200,
      `${read?.response?.status ?? read?.error}`,
    ),
    check(
      '/readyz answers 503 naming redis while it is down',
      ready?.response?.status === 503 && !!readyBody?.error?.details?.failed?.includes('redis'),
      `${ready?.response?.status ?? ready?.error} ${ready?.response?.text.slice(0, 200) ?? ''}`,
    ),
    check(
      '/healthz stays 200 while Redis is down',
      health?.response?.status === 200,
      `${health?.response?.status ?? health?.error}`,
    ),
  ];
}

/**
 * A Redis of the stack's own is stopped mid-run and started again on the same port. With
 * `persistent` (appendonly yes) it comes back with its data: queued, delayed and active jobs
 * go on. Without (the "loses everything" case) it comes back empty, and only the reconciler,
 * reading Postgres, can finish the lines. Either way the API and the workers must carry on
 * without a restart.
 */
async function redisScenario(
  env: Environment,
  options: RedisOptions,
  persistent: boolean,
): Promise<ScenarioResult> {
  const started = Date.now();
  const name = persistent ? 'redis-restart' : 'redis-loss';
  const redis = await ThrowawayRedis.start([
    // BullMQ needs it, and /readyz checks it: an evicted key is a lost job.
    '--maxmemory-policy',
    'noeviction',
    ...(persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ]);
  const stack = await Stack.start(env, {
    name,
    redisUrl: redis.url,
    sim: { seed: options.seed, durations: { baseMs: 150, perCharMs: 3, sigma: 0.3 } },
    // The reconciler is the only way back after a loss: let it run often and trust little.
    workerEnv: persistent ? {} : { RECONCILE_INTERVAL_MS: '500', RECONCILE_GRACE_MS: '1000' },
  });
  try {
    const api = await stack.startApi();
    const tenant = await stack.tenant(name);
    const workers = [await stack.startWorker(), await stack.startWorker()];
    const batch = await stack.submitBatch(tenant, narration(options.lines, name));
    await waitForTerminal(stack, Math.ceil(options.lines / 4));

    const downAt = Date.now();
    if (persistent) await redis.stop('SIGTERM');
    else await redis.wipe();
    env.progress(`${name}: Redis stopped`);
    const probes: Probe[] = [];
    const probe = async (what: string, run: () => Promise<HttpResponse>) => {
      try {
        probes.push({ what, response: await run() });
      } catch (error) {
        probes.push({ what, response: null, error: String(error) });
      }
    };
    await probe('POST /v1/batches', () =>
      stack.http.call('POST', '/v1/batches', {
        key: tenant.key,
        body: {
          voice: { audio: AUDIO_URL, custom_voice_id: VOICE_ID },
          per_line_clone: true,
          lines: narration(options.linesWhileDown, `${name} (Redis down)`).map((text) => ({
            text,
          })),
        },
      }),
    );
    await probe('GET /v1/batches/:id', () =>
      stack.http.call('GET', `/v1/batches/${batch.id}`, { key: tenant.key }),
    );
    await probe('GET /readyz', () => stack.http.call('GET', '/readyz'));
    await probe('GET /healthz', () => stack.http.call('GET', '/healthz'));
    await pause(Math.max(0, options.downMs - (Date.now() - downAt)));

    await redis.start();
    const upAt = new Date();
    env.progress(`${name}: Redis back after ${upAt.getTime() - downAt} ms`);
    const recovery = await recoveryAfter(stack, upAt, 120_000);
    const readyAgain = await waitFor(
      '/readyz to answer 200 again',
      async () => (await stack.http.call('GET', '/readyz')).status === 200,
      { timeoutMs: 30_000, intervalMs: 200 },
    ).then(
      () => Date.now() - upAt.getTime(),
      () => null,
    );

    const expected =
      options.lines + (probes[0]?.response?.status === 202 ? options.linesWhileDown : 0);
    const { audit, checks } = await settle(stack, expected, options.settleTimeoutMs);
    const last = await lastTerminalAt(stack.db);
    const drainedMs = last ? last.getTime() - upAt.getTime() : null;
    return {
      ...baseResult(
        name,
        persistent ? 'Redis restart (appendonly)' : 'Redis lost (restarted empty)',
        started,
        audit,
      ),
      faults: persistent
        ? `Redis stopped ${options.downMs} ms, restarted with its AOF`
        : `Redis killed, restarted empty after ${options.downMs} ms`,
      faultCounts: { 'Redis outages': 1, 'outage ms': upAt.getTime() - downAt },
      recoveryMs: recovery === null ? [] : [recovery],
      checks: [
        ...checks,
        ...outageChecks(probes),
        survivedCheck([api, ...workers], 'the API and both workers'),
        check(
          'lines finish again after Redis returns',
          recovery !== null,
          recovery === null ? 'no line finished within 120 s' : `${recovery} ms`,
        ),
        check(
          '/readyz is 200 again once Redis is back',
          readyAgain !== null,
          readyAgain === null ? 'still not ready after 30 s' : `after ${readyAgain} ms`,
        ),
        allSucceededCheck(audit),
      ],
      notes: [
        `Every line had finished ${drainedMs === null ? '?' : Math.round(drainedMs / 1000)} s after the fault ended (first line ${recovery ?? '?'} ms after).`,
        `While Redis was down: ${probes.map((p) => `${p.what} -> ${p.response?.status ?? p.error}`).join('; ')}.`,
        `The ${options.linesWhileDown} lines accepted during the outage were enqueued by the reconciler (RECONCILE_GRACE_MS ${persistent ? 3000 : 1000}).`,
      ],
    };
  } finally {
    await stack.close();
    await redis.close();
  }
}

export function redisRestartScenario(env: Environment, options: RedisOptions) {
  return redisScenario(env, options, true);
}

export function redisLossScenario(env: Environment, options: RedisOptions) {
  return redisScenario(env, options, false);
}
