import type { Redis } from 'ioredis';
import { percentile } from '../util/stats.js';

/**
 * When each poll job was last scheduled for and last started, read back from the poll queue's
 * BullMQ event stream (`delayed` events carry the absolute due time, `active` events are
 * stamped by Redis). With the upstream finish time and `completed_at` this splits a task's lag
 * into: the schedule (due after the task finished), the queue (due, not yet started: a busy
 * worker) and the step itself (query and the start of the success transaction).
 */
export async function pollTimeline(
  redis: Redis,
  prefix: string,
): Promise<Map<string, { dueAt: number; startedAt: number }>> {
  const key = `${prefix}:clone-poll:events`;
  const out = new Map<string, { dueAt: number; startedAt: number }>();
  let start = '-';
  for (;;) {
    const entries = await redis.xrange(key, start, '+', 'COUNT', 5_000);
    for (const [id, fields] of entries) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2)
        f[fields[i] as string] = fields[i + 1] as string;
      const jobId = f.jobId;
      if (!jobId) continue;
      const entry = out.get(jobId) ?? { dueAt: Number.NaN, startedAt: Number.NaN };
      if (f.event === 'delayed') entry.dueAt = Number(f.delay);
      if (f.event === 'active') entry.startedAt = Number(id.split('-')[0]);
      out.set(jobId, entry);
    }
    if (entries.length < 5_000) break;
    const last = entries[entries.length - 1]?.[0] ?? '';
    const [ms, seq] = last.split('-');
    start = `${ms}-${Number(seq) + 1}`;
  }
  return out;
}

export interface LagParts {
  /** Due time of the poll that saw the task finished − the finish (0 if it was due before). */
  schedule: number[];
  /** Start of that poll step − max(due, finish): waiting in a busy worker's queue. */
  queue: number[];
  /** completed_at − start of the step: the query and the start of the success transaction. */
  step: number[];
}

export function splitLag(
  items: Array<{ finishesAt: number; completedAt: number; dueAt: number; startedAt: number }>,
): LagParts {
  const parts: LagParts = { schedule: [], queue: [], step: [] };
  for (const t of items) {
    if (!Number.isFinite(t.dueAt) || !Number.isFinite(t.startedAt)) continue;
    parts.schedule.push(Math.max(0, t.dueAt - t.finishesAt));
    parts.queue.push(Math.max(0, t.startedAt - Math.max(t.dueAt, t.finishesAt)));
    parts.step.push(t.completedAt - t.startedAt);
  }
  return parts;
}

export const p = (values: number[], pct: number) => percentile(values, pct);

/** Lag parts of a batch's tasks (see splitLag), from the run's own prefix and the simulator. */
export async function lagParts(
  ctx: { redis: Redis },
  prefix: string,
  rows: Array<{ id: string; taskId: string | null; completedAt: number | null }>,
  tasks: Array<{ taskId: string; finishesAt: number | null }>,
): Promise<LagParts> {
  const timeline = await pollTimeline(ctx.redis, prefix);
  const byTask = new Map(tasks.map((t) => [t.taskId, t]));
  const items: Array<{
    finishesAt: number;
    completedAt: number;
    dueAt: number;
    startedAt: number;
  }> = [];
  for (const row of rows) {
    const task = row.taskId ? byTask.get(row.taskId) : undefined;
    const poll = timeline.get(`poll-${row.id}-1`);
    if (!task || task.finishesAt === null || row.completedAt === null || !poll) continue;
    items.push({ finishesAt: task.finishesAt, completedAt: row.completedAt, ...poll });
  }
  return splitLag(items);
}

const fmtMs = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

/** A markdown paragraph: the lag's parts at p50 and p95 over all given runs. */
export function lagNote(runs: LagParts[]): string {
  const all = (k: keyof LagParts) => runs.flatMap((r) => r[k]);
  const row = (label: string, k: keyof LagParts) =>
    `| ${label} | ${fmtMs(p(all(k), 50))} | ${fmtMs(p(all(k), 95))} |`;
  return [
    "voxline's lag in parts (all tasks of all runs; from the poll queue's BullMQ event stream):",
    '',
    '| Part | p50 (ms) | p95 (ms) |',
    '|---|---:|---:|',
    row(
      'Schedule: the poll that saw the task finished was due this long after the finish',
      'schedule',
    ),
    row('Queue: due (or finished, if later) until the poll step started', 'queue'),
    row('Step: query upstream, start the success transaction', 'step'),
  ].join('\n');
}
