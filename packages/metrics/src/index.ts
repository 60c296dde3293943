import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every voxline metric, in one registry per process. Workers and the API each expose theirs at
 * /metrics; when `pnpm start` runs both in one process, one scrape shows everything.
 */
export function createMetrics() {
  const registry = new Registry();
  // Default process and Node.js metrics under their standard names (process_cpu_seconds_total,
  // nodejs_eventloop_lag_seconds, …), so stock Node.js dashboards work as they are.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    upstreamRequests: new Counter({
      name: 'voxline_upstream_requests_total',
      help: 'RunningHub requests by endpoint, outcome (ok/retryable/backpressure/fatal) and upstream code',
      labelNames: ['endpoint', 'outcome', 'code'] as const,
      registers,
    }),
    upstreamLatency: new Histogram({
      name: 'voxline_upstream_request_duration_seconds',
      help: 'RunningHub request latency by endpoint',
      labelNames: ['endpoint'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    cloneOutcomes: new Counter({
      name: 'voxline_clone_outcomes_total',
      help: 'Clone jobs reaching a terminal state, by status and error code',
      labelNames: ['status', 'code'] as const,
      registers,
    }),
    // Tenant ids as labels: a deployment serves tens of tenants, not thousands, and cost per
    // tenant is what an operator bills and budgets by.
    tasks: new Counter({
      name: 'voxline_tasks_total',
      help: 'Upstream tasks (voice_clone, speech) reaching a terminal state, by kind, model, tenant and status',
      labelNames: ['kind', 'model', 'tenant', 'status'] as const,
      registers,
    }),
    taskCost: new Counter({
      name: 'voxline_task_cost_cny_total',
      help: 'Cost in CNY of succeeded tasks by kind, model and tenant: basis "estimated" (the price list) or "actual" (usage.consumeMoney, when upstream reported it)',
      labelNames: ['kind', 'model', 'tenant', 'basis'] as const,
      registers,
    }),
    pollsPerTask: new Histogram({
      name: 'voxline_polls_per_task',
      help: 'Upstream queries made for one task before it was seen terminal',
      buckets: [1, 2, 3, 4, 5, 8, 12, 20, 50],
      registers,
    }),
    taskDuration: new Histogram({
      name: 'voxline_task_duration_seconds',
      help: 'Time from upstream acceptance to voxline seeing the task terminal',
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers,
    }),
    // Against the API's voxline_callbacks_received_total: with callbacks on, nearly every poll
    // should be one a callback woke; those the schedule ran are the safety net (and, without
    // callbacks, all of them).
    polls: new Counter({
      name: 'voxline_polls_total',
      help: 'Upstream queries of running tasks, by what triggered them: "callback" (a callback for the task had arrived) or "schedule"',
      labelNames: ['trigger'] as const,
      registers,
    }),
    archiveDuration: new Histogram({
      name: 'voxline_archive_duration_seconds',
      help: 'Time to copy one result into the audio store: download, store, read back its metadata',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers,
    }),
    successGroupSize: new Histogram({
      name: 'voxline_success_group_lines',
      help: 'Lines marked succeeded by one transaction: archive steps that finish while one commits share the next',
      buckets: [1, 2, 5, 10, 20, 50, 100],
      registers,
    }),
    archiveBytes: new Counter({
      name: 'voxline_archive_bytes_total',
      help: 'Bytes of audio copied into the audio store',
      registers,
    }),
    archiveFailures: new Counter({
      name: 'voxline_archive_failures_total',
      help: 'Failed archive attempts by error code (TOO_LARGE, TIMEOUT, HTTP_403, ...) and whether the step retries or the line failed (ARCHIVE_FAILED)',
      labelNames: ['code', 'outcome'] as const,
      registers,
    }),
    audioPurged: new Counter({
      name: 'voxline_audio_purged_total',
      help: 'Stored audio files deleted by AUDIO_RETENTION_DAYS',
      registers,
    }),
    ambiguousSubmits: new Counter({
      name: 'voxline_ambiguous_submits_total',
      help: 'Jobs found in submitting with no task id after a crash, by the policy applied',
      labelNames: ['policy'] as const,
      registers,
    }),
    slotWaits: new Counter({
      name: 'voxline_slot_waits_total',
      help: 'Submit attempts that found every upstream slot taken (or upstream full) and waited',
      labelNames: ['reason'] as const,
      registers,
    }),
    slotsInUse: new Gauge({
      name: 'voxline_upstream_slots_in_use',
      help: 'Upstream slots held by live leases',
      registers,
    }),
    // Fair shares, per tenant (and account: a tenant's own key is its own account).
    slotSeconds: new Counter({
      name: 'voxline_slot_seconds_total',
      help: 'Upstream slot time used, by tenant and account: counted when a task ends, its submit to its end',
      labelNames: ['tenant', 'account'] as const,
      registers,
    }),
    waitingLines: new Gauge({
      name: 'voxline_slot_waiting_lines',
      help: 'Lines waiting for an upstream slot, by tenant and account (fair shares)',
      labelNames: ['tenant', 'account'] as const,
      registers,
    }),
    slotWait: new Histogram({
      name: 'voxline_slot_wait_seconds',
      help: 'Time from a line queued to its submit, by tenant',
      labelNames: ['tenant'] as const,
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400],
      registers,
    }),
    tasksInFlight: new Gauge({
      name: 'voxline_upstream_tasks_in_flight',
      help: 'Upstream slots held by live leases, by account',
      labelNames: ['account'] as const,
      registers,
    }),
    webhookAttempts: new Counter({
      name: 'voxline_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    reconciled: new Counter({
      name: 'voxline_reconciled_total',
      help: 'Things the reconciler repaired, by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const stateByRegistry = new WeakMap<Registry, StateMetrics>();

/**
 * Gauges of the system's state, read from Redis and Postgres at scrape time rather than counted
 * in process: any API process can report them, they survive restarts, and many processes
 * report the same numbers (aggregate with `max`, not `sum`). Created on first use for a
 * registry, once, so an API and a worker sharing one registry in one process do not register
 * them twice, and a worker that never reports them does not show them as zeros.
 */
export function stateMetrics(metrics: Metrics): StateMetrics {
  let state = stateByRegistry.get(metrics.registry);
  if (!state) {
    state = createStateMetrics(metrics.registry);
    stateByRegistry.set(metrics.registry, state);
  }
  return state;
}

function createStateMetrics(registry: Registry) {
  const registers = [registry];
  return {
    queueJobs: new Gauge({
      name: 'voxline_queue_jobs',
      help: 'BullMQ jobs by queue and state (waiting, prioritized, delayed, active, completed, failed, waiting-children; jobs of a paused queue are waiting)',
      labelNames: ['queue', 'state'] as const,
      registers,
    }),
    slotsLimit: new Gauge({
      name: 'voxline_upstream_slots_limit',
      help: 'The configured upstream concurrency limit (RUNNINGHUB_MAX_IN_FLIGHT)',
      registers,
    }),
    cloneJobsActive: new Gauge({
      name: 'voxline_clone_jobs_active',
      help: 'Clone jobs not yet terminal, by status (queued, submitting, running), from Postgres',
      labelNames: ['status'] as const,
      registers,
    }),
    deadLettersPending: new Gauge({
      name: 'voxline_dead_letters_pending',
      help: 'Dead-lettered clone jobs not redriven, by error code, from Postgres',
      labelNames: ['error_code'] as const,
      registers,
    }),
    webhookDeliveriesPending: new Gauge({
      name: 'voxline_webhook_deliveries_pending',
      help: 'Webhook deliveries still to be made, split by whether an attempt already failed',
      labelNames: ['retrying'] as const,
      registers,
    }),
    webhookPendingAttempts: new Gauge({
      name: 'voxline_webhook_pending_attempts',
      help: 'Attempts already spent on webhook deliveries that are still pending',
      registers,
    }),
    webhookEndpoints: new Gauge({
      name: 'voxline_webhook_endpoints',
      help: 'Registered webhook endpoints by state (healthy, failing, disabled)',
      labelNames: ['state'] as const,
      registers,
    }),
    ambiguousSubmitsRecorded: new Gauge({
      name: 'voxline_ambiguous_submits_recorded',
      help: 'Ambiguous submits ever recorded in Postgres (each may have been paid twice), by policy',
      labelNames: ['policy'] as const,
      registers,
    }),
    sourceUp: new Gauge({
      name: 'voxline_metrics_source_up',
      help: 'Whether the last scrape could read this source (redis, postgres): 1 yes, 0 no',
      labelNames: ['source'] as const,
      registers,
    }),
  };
}

export type StateMetrics = ReturnType<typeof createStateMetrics>;
