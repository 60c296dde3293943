import type { Config } from '@voxline/config';
import {
  ACTIVE_STATUSES,
  activeStatusSql,
  cloneJobEvents,
  cloneJobs,
  type Database,
  deadLetters,
  upstreamAccounts,
  webhookDeliveries,
  webhookEndpoints,
} from '@voxline/db';
import type { Logger } from '@voxline/logger';
import { type Metrics, stateMetrics } from '@voxline/metrics';
import {
  DEFAULT_ACCOUNT,
  fairWaitingByTenant,
  type Queues,
  type RedisClient,
  slotsInUse,
} from '@voxline/queue';
import type { JobType } from 'bullmq';
import { count, desc, eq, isNull, sql, sum } from 'drizzle-orm';
import { within } from './within.js';

/**
 * What `/metrics` shows beyond the process's own counters: the state of the system, read at
 * scrape time from Redis (queue depths, slots) and Postgres (backlog, dead letters, webhooks,
 * ambiguous submits). Every Postgres query is answered from a partial index or a small table,
 * so its cost follows the backlog, not the history: all-time outcome counts would scan
 * `clone_jobs` on every scrape, and outcome rates already come from the worker's
 * `voxline_clone_outcomes_total`.
 */

// BullMQ 6 has no `paused` state: the jobs of a paused queue are counted as `waiting`.
export const JOB_STATES = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'completed',
  'failed',
  'waiting-children',
] as const satisfies readonly JobType[];

// A scrape must finish within Prometheus' scrape timeout (10 s by default) even when a
// dependency hangs; a source that does not answer in time is reported down for this scrape.
const SOURCE_TIMEOUT_MS = 3_000;
// Error codes come from our taxonomy and upstream's documented codes, but bound the series
// anyway: a flood of unexpected codes must not become a flood of time series.
const MAX_ERROR_CODES = 50;

export interface ScraperDeps {
  config: Config;
  db: Database;
  redis: RedisClient;
  queues: Queues;
  metrics: Metrics;
  logger: Logger;
}

interface RedisState {
  queues: Array<{ queue: string; counts: Record<string, number> }>;
  slotsInUse: number;
  /** Per upstream account: tasks in flight and lines waiting per tenant (fair shares). */
  accounts: Array<{ account: string; inUse: number; waiting: Map<string, number> }>;
}

interface PostgresState {
  active: Array<{ status: string; n: number }>;
  deadLetters: Array<{ errorCode: string; n: number }>;
  webhookPending: Array<{ retrying: boolean; n: number; attempts: number }>;
  endpoints: Array<{ state: string; n: number }>;
  ambiguous: Array<{ policy: string; n: number }>;
}

async function readRedis(deps: ScraperDeps): Promise<RedisState> {
  // Tenants' own accounts (a small table), live or retired: a retired one drains its tasks.
  const own = await deps.db.select({ id: upstreamAccounts.id }).from(upstreamAccounts);
  const prefix = deps.config.QUEUE_PREFIX;
  const [queues, slots, accounts] = await Promise.all([
    Promise.all(
      Object.values(deps.queues).map(async (queue) => ({
        queue: queue.name,
        counts: await queue.getJobCounts(...JOB_STATES),
      })),
    ),
    slotsInUse(deps.redis, prefix),
    Promise.all(
      [DEFAULT_ACCOUNT, ...own.map((a) => a.id)].map(async (account) => ({
        account,
        inUse: await slotsInUse(deps.redis, prefix, account),
        waiting: await fairWaitingByTenant(deps.redis, prefix, account),
      })),
    ),
  ]);
  return { queues, slotsInUse: slots, accounts };
}

async function readPostgres(db: Database): Promise<PostgresState> {
  return db.transaction(
    async (tx) => {
      // Bounds the queries on the server too: a timed-out scrape must not leave them running.
      await tx.execute(sql.raw(`set local statement_timeout = ${SOURCE_TIMEOUT_MS}`));
      // The predicate of `clone_jobs_active_idx`, so the planner can use that partial index.
      const active = await tx
        .select({ status: cloneJobs.status, n: count() })
        .from(cloneJobs)
        .where(activeStatusSql(cloneJobs.status))
        .groupBy(cloneJobs.status);
      const deadLetterCounts = await tx
        .select({ errorCode: deadLetters.errorCode, n: count() })
        .from(deadLetters)
        .where(isNull(deadLetters.redrivenAt))
        .groupBy(deadLetters.errorCode)
        .orderBy(desc(count()))
        .limit(MAX_ERROR_CODES);
      const retrying = sql<boolean>`${webhookDeliveries.attempts} > 0`;
      const webhookPending = await tx
        .select({
          retrying,
          n: count(),
          attempts: sql<number>`coalesce(${sum(webhookDeliveries.attempts)}, 0)::int`,
        })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.status, 'pending'))
        .groupBy(retrying);
      const endpointState = sql<string>`case
        when ${webhookEndpoints.disabledAt} is not null then 'disabled'
        when ${webhookEndpoints.failingSince} is not null then 'failing'
        else 'healthy' end`;
      const endpoints = await tx
        .select({ state: endpointState, n: count() })
        .from(webhookEndpoints)
        .groupBy(endpointState);
      const policy = sql<string>`coalesce(${cloneJobEvents.detail}->>'policy', 'unknown')`;
      const ambiguous = await tx
        .select({ policy, n: count() })
        .from(cloneJobEvents)
        .where(eq(cloneJobEvents.kind, 'ambiguous_submit'))
        .groupBy(policy);
      return { active, deadLetters: deadLetterCounts, webhookPending, endpoints, ambiguous };
    },
    { accessMode: 'read only' },
  );
}

/** Sets a labelled gauge to exactly these series: zero for `always`, dropped when gone. */
function replaceSeries<L extends string>(
  gauge: { reset(): void; set(labels: Partial<Record<L, string>>, value: number): void },
  label: L,
  rows: Array<{ key: string; n: number }>,
  always: readonly string[] = [],
): void {
  gauge.reset();
  for (const key of always) gauge.set({ [label]: key } as Partial<Record<L, string>>, 0);
  for (const row of rows) gauge.set({ [label]: row.key } as Partial<Record<L, string>>, row.n);
}

/**
 * Renders the registry after refreshing the state gauges. Concurrent scrapes (two Prometheus
 * replicas) share one refresh. A source that fails is reported by `voxline_metrics_source_up`
 * and its gauges are dropped rather than left at stale values; the scrape itself still answers.
 */
export function createScraper(deps: ScraperDeps) {
  const state = stateMetrics(deps.metrics);
  let refreshing: Promise<void> | null = null;

  async function refresh(): Promise<void> {
    const [redis, postgres] = await Promise.allSettled([
      within(readRedis(deps), SOURCE_TIMEOUT_MS, 'Redis did not answer'),
      within(readPostgres(deps.db), SOURCE_TIMEOUT_MS + 500, 'Postgres did not answer'),
    ]);
    // Everything is read before anything is set, so a scrape never shows half an update.
    state.slotsLimit.set(deps.config.RUNNINGHUB_MAX_IN_FLIGHT);
    state.queueJobs.reset();
    if (redis.status === 'fulfilled') {
      for (const { queue, counts } of redis.value.queues) {
        for (const jobState of JOB_STATES) {
          state.queueJobs.set({ queue, state: jobState }, counts[jobState] ?? 0);
        }
      }
      deps.metrics.slotsInUse.set(redis.value.slotsInUse);
      deps.metrics.tasksInFlight.reset();
      deps.metrics.waitingLines.reset();
      for (const { account, inUse, waiting } of redis.value.accounts) {
        deps.metrics.tasksInFlight.set({ account }, inUse);
        for (const [tenant, lines] of waiting) {
          deps.metrics.waitingLines.set({ tenant, account }, lines);
        }
      }
      state.sourceUp.set({ source: 'redis' }, 1);
    } else {
      deps.metrics.slotsInUse.reset();
      deps.metrics.tasksInFlight.reset();
      deps.metrics.waitingLines.reset();
      state.sourceUp.set({ source: 'redis' }, 0);
      deps.logger.warn({ err: redis.reason }, 'metrics: Redis not read');
    }

    if (postgres.status === 'fulfilled') {
      const pg = postgres.value;
      replaceSeries(
        state.cloneJobsActive,
        'status',
        pg.active.map((r) => ({ key: r.status, n: r.n })),
        ACTIVE_STATUSES,
      );
      replaceSeries(
        state.deadLettersPending,
        'error_code',
        pg.deadLetters.map((r) => ({ key: r.errorCode, n: r.n })),
      );
      replaceSeries(
        state.webhookDeliveriesPending,
        'retrying',
        pg.webhookPending.map((r) => ({ key: String(r.retrying), n: r.n })),
        ['false', 'true'],
      );
      state.webhookPendingAttempts.set(pg.webhookPending.reduce((n, r) => n + r.attempts, 0));
      replaceSeries(
        state.webhookEndpoints,
        'state',
        pg.endpoints.map((r) => ({ key: r.state, n: r.n })),
        ['healthy', 'failing', 'disabled'],
      );
      replaceSeries(
        state.ambiguousSubmitsRecorded,
        'policy',
        pg.ambiguous.map((r) => ({ key: r.policy, n: r.n })),
        ['resubmit', 'fail'],
      );
      state.sourceUp.set({ source: 'postgres' }, 1);
    } else {
      for (const gauge of [
        state.cloneJobsActive,
        state.deadLettersPending,
        state.webhookDeliveriesPending,
        state.webhookPendingAttempts,
        state.webhookEndpoints,
        state.ambiguousSubmitsRecorded,
      ]) {
        gauge.reset();
      }
      state.sourceUp.set({ source: 'postgres' }, 0);
      deps.logger.warn({ err: postgres.reason }, 'metrics: Postgres not read');
    }
  }

  return {
    contentType: deps.metrics.registry.contentType,
    async render(): Promise<string> {
      refreshing ??= refresh().finally(() => {
        refreshing = null;
      });
      await refreshing;
      return deps.metrics.registry.metrics();
    },
  };
}

export type Scraper = ReturnType<typeof createScraper>;
