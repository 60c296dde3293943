import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every voxline metric, in one registry per process. Workers and the API each expose theirs at
 * /metrics; when `pnpm start` runs both in one process, one scrape shows everything.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'voxline_process_' });
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
