import { waitFor } from '@voxline/testing/wait';
import type { HttpResponse } from '../infra/http.js';
import { pause } from '../infra/pace.js';
import { PostgresServer } from '../infra/postgres-server.js';
import { check, lastTerminalAt, recoveryAfter } from '../observe.js';
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
import { holdBatchMidWrite, midWriteChecks } from './postgres-mid-write.js';

export interface PostgresOutageOptions {
  lines: number;
  outageMs: number;
  seed: number;
  settleTimeoutMs: number;
}

const MID_WRITE_LINES = 20;

export const POSTGRES_OUTAGE = {
  ci: { lines: 200, outageMs: 10_000, settleTimeoutMs: 180_000 },
  soak: { lines: 1_000, outageMs: 10_000, settleTimeoutMs: 600_000 },
} as const;

interface Answer {
  route: string;
  status: number | null;
  code: string | null;
  retryAfter: boolean;
  /** A stack trace or a driver message in the body: never acceptable. */
  leaksInternals: boolean;
  error?: string;
}

const INTERNALS = /\bat .+\.(js|ts):\d+|ECONNREFUSED|ECONNRESET|pg_|postgres:\/\/|terminat/i;

/**
 * The stack's Postgres is a throwaway cluster of its own, stopped (immediate: connections drop
 * as in a crash or failover) mid-run for `outageMs`, then started again, the stop landing while
 * a `POST /v1/batches` is inside its transaction. Meanwhile the API is asked what a client would
 * ask, and must answer 503 with the JSON error and a retry-after; the workers must wait it out
 * and finish every line once Postgres is back.
 */
export async function postgresOutageScenario(
  env: Environment,
  options: PostgresOutageOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const pg = await PostgresServer.start();
  // The API creates and migrates it on start, as on a fresh machine.
  const stack = await Stack.start(env, {
    name: 'postgres-outage',
    databaseUrl: pg.databaseUrl('voxline'),
    sim: { seed: options.seed, durations: { baseMs: 150, perCharMs: 3, sigma: 0.3 } },
  });
  try {
    const api = await stack.startApi();
    const tenant = await stack.tenant('outage');
    const workers = [await stack.startWorker(), await stack.startWorker()];
    const batch = await stack.submitBatch(tenant, narration(options.lines, 'outage'));
    const single = await stack.http.call('POST', '/v1/clones', {
      key: tenant.key,
      body: {
        audio: AUDIO_URL,
        custom_voice_id: VOICE_ID,
        text: 'A single line before the outage.',
      },
    });
    const cloneId = (single.json as { id: string }).id;
    await waitForTerminal(stack, Math.ceil(options.lines / 4));

    // The stop lands inside a handler too: a batch held in its transaction, after its key was
    // checked (every probe below fails earlier, at the key lookup).
    const { midWrite, releaseLock } = await holdBatchMidWrite(stack, tenant, MID_WRITE_LINES);
    await pg.stop('immediate');
    releaseLock();
    const downAt = Date.now();
    env.progress('postgres-outage: Postgres stopped');
    const requests: Array<[string, () => Promise<HttpResponse>]> = [
      [
        'POST /v1/batches',
        () =>
          stack.http.call('POST', '/v1/batches', {
            key: tenant.key,
            body: {
              voice: { audio: AUDIO_URL, custom_voice_id: VOICE_ID },
              per_line_clone: true,
              lines: [{ text: 'Sent during the outage.' }],
            },
          }),
      ],
      [
        'POST /v1/clones',
        () =>
          stack.http.call('POST', '/v1/clones', {
            key: tenant.key,
            body: { audio: AUDIO_URL, custom_voice_id: VOICE_ID, text: 'Sent during the outage.' },
          }),
      ],
      [
        'GET /v1/batches/:id',
        () => stack.http.call('GET', `/v1/batches/${batch.id}`, { key: tenant.key }),
      ],
      [
        'GET /v1/clones/:id',
        () => stack.http.call('GET', `/v1/clones/${cloneId}`, { key: tenant.key }),
      ],
      [
        'GET /v1/dead-letters',
        () => stack.http.call('GET', '/v1/dead-letters', { key: tenant.key }),
      ],
      [
        'POST /admin/tenants',
        () =>
          stack.http.call('POST', '/admin/tenants', {
            body: { name: 'during the outage' },
            headers: { authorization: `Bearer ${stack.adminToken}` },
          }),
      ],
      ['GET /readyz', () => stack.http.call('GET', '/readyz')],
      ['GET /healthz', () => stack.http.call('GET', '/healthz')],
    ];
    const answers: Answer[] = [];
    for (let i = 0; Date.now() - downAt < options.outageMs - 300; i++) {
      const [route, send] = requests[i % requests.length] as (typeof requests)[number];
      try {
        const res = await send();
        const body = res.json as { error?: { code?: unknown } } | undefined;
        answers.push({
          route,
          status: res.status,
          code: typeof body?.error?.code === 'string' ? body.error.code : null,
          retryAfter: res.headers['retry-after'] !== undefined,
          leaksInternals: INTERNALS.test(res.text),
        });
      } catch (error) {
        answers.push({
          route,
          status: null,
          code: null,
          retryAfter: false,
          leaksInternals: false,
          error: String(error),
        });
      }
      await pause(100);
    }
    await pause(Math.max(0, options.outageMs - (Date.now() - downAt)));
    await pg.start();
    const upAt = new Date();
    env.progress(`postgres-outage: Postgres back after ${upAt.getTime() - downAt} ms`);
    const after = await waitFor(
      'the API to accept a batch again',
      async () => {
        const res = await stack.http.call('POST', '/v1/batches', {
          key: tenant.key,
          body: {
            voice: { audio: AUDIO_URL, custom_voice_id: VOICE_ID },
            per_line_clone: true,
            lines: [{ text: 'Sent after the outage.' }],
          },
        });
        return res.status === 202 ? res : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).then(
      () => Date.now() - upAt.getTime(),
      () => null,
    );

    const recovery = await recoveryAfter(stack, upAt, 120_000);
    const mid = await midWriteChecks(stack, midWrite);

    const { audit, checks } = await settle(
      stack,
      options.lines + 1 + (after === null ? 0 : 1) + mid.acceptedLines,
      options.settleTimeoutMs,
    );
    const last = await lastTerminalAt(stack.db);
    const drainedMs = last ? last.getTime() - upAt.getTime() : null;
    const dbRoutes = answers.filter((a) => a.route !== 'GET /healthz');
    const wrong = dbRoutes.filter(
      (a) =>
        a.status !== 503 ||
        (a.route !== 'GET /readyz' && (a.code !== 'unavailable' || !a.retryAfter)),
    );
    const health = answers.filter((a) => a.route === 'GET /healthz');
    const byStatus: Record<string, number> = {};
    for (const a of answers) byStatus[String(a.status)] = (byStatus[String(a.status)] ?? 0) + 1;
    return {
      ...baseResult('postgres-outage', 'Postgres outage', started, audit),
      faults: `Postgres stopped (immediate) for ${options.outageMs / 1000} s`,
      faultCounts: {
        'Postgres outages': 1,
        'outage ms': upAt.getTime() - downAt,
        'API requests during the outage': answers.length,
      },
      recoveryMs: recovery === null ? [] : [recovery],
      checks: [
        ...checks,
        ...mid.checks,
        check(
          'every database-backed request during the outage got 503 {error:{code:"unavailable"}} with retry-after',
          dbRoutes.length > 0 && wrong.length === 0,
          wrong.length
            ? wrong
                .slice(0, 5)
                .map((a) => `${a.route} -> ${a.status ?? a.error} ${a.code ?? ''}`)
                .join('; ')
            : `${dbRoutes.length} requests`,
        ),
        check(
          'no answer during the outage carried a stack or driver message',
          answers.every((a) => !a.leaksInternals),
          `${answers.filter((a) => a.leaksInternals).length} leaked`,
        ),
        check(
          '/healthz stayed 200 during the outage',
          health.length > 0 && health.every((a) => a.status === 200),
          health.map((a) => a.status).join(','),
        ),
        survivedCheck([api, ...workers], 'the API and both workers'),
        check(
          'the API accepts work again once Postgres is back',
          after !== null,
          after === null ? 'not within 30 s' : `after ${after} ms`,
        ),
        check(
          'lines finish again after Postgres returns',
          recovery !== null,
          recovery === null ? 'no line finished within 120 s' : `${recovery} ms`,
        ),
        allSucceededCheck(audit),
      ],
      notes: [
        `Every line had finished ${drainedMs === null ? '?' : Math.round(drainedMs / 1000)} s after the fault ended (first line ${recovery ?? '?'} ms after).`,
        `API answers during the outage by status: ${JSON.stringify(byStatus)}.`,
        `The ${MID_WRITE_LINES}-line batch held in its transaction when Postgres stopped: ${mid.answer}.`,
      ],
    };
  } finally {
    await stack.close();
    await pg.close();
  }
}
