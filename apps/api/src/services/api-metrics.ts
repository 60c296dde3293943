import { Counter, type Registry } from 'prom-client';

const byRegistry = new WeakMap<Registry, ApiMetrics>();

/**
 * Counters only the API writes, in the process's registry beside @voxline/metrics' (so one
 * /metrics shows them when `pnpm start` runs the API and the worker together). Created once
 * per registry, as @voxline/metrics' state gauges: two apps built on one registry share them.
 */
export function apiMetrics(registry: Registry): ApiMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = createApiMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

function counter<L extends string>(
  registry: Registry,
  spec: { name: string; help: string; labelNames: readonly L[] },
): Counter<L> {
  return new Counter({ ...spec, registers: [registry] });
}

function createApiMetrics(registry: Registry) {
  return {
    // Tenant ids as labels, as voxline_task_cost_cny_total: what reuse saved is billed by tenant.
    reusedLines: counter(registry, {
      name: 'voxline_reused_lines_total',
      help: 'Lines accepted as succeeded from audio already stored (no upstream call), by kind, model and tenant',
      labelNames: ['kind', 'model', 'tenant'] as const,
    }),
    reuseSaved: counter(registry, {
      name: 'voxline_reuse_saved_cny_total',
      help: 'What lines that reused stored audio would have cost by the price list, in CNY, by kind, model and tenant',
      labelNames: ['kind', 'model', 'tenant'] as const,
    }),
    rateLimited: counter(registry, {
      name: 'voxline_rate_limited_total',
      help: 'Requests refused with 429 because the tenant sent more than its requests per minute',
      labelNames: ['tenant'] as const,
    }),
    callbacks: counter(registry, {
      name: 'voxline_callbacks_received_total',
      help: 'RunningHub callbacks by outcome: accepted, unknown_token (forged, or of an older submission), unreadable (the poll still ran)',
      labelNames: ['outcome'] as const,
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
