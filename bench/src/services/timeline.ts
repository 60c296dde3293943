import type { DbHandle } from '@voxline/db';
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
  /** Result recorded − start of the step: the query and the transaction recording it. */
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

/**
 * Lag parts of a batch's tasks (see splitLag), from the run's own prefix and the simulator. The
 * step ends when the poll recorded the result (`result_received`); the archive step that
 * follows is StageParts' `archive`.
 */
export async function lagParts(
  ctx: { redis: Redis; db: DbHandle },
  prefix: string,
  batchId: string,
  rows: Array<{ id: string; taskId: string | null; completedAt: number | null }>,
  tasks: Array<{ taskId: string; finishesAt: number | null }>,
): Promise<LagParts> {
  const timeline = await pollTimeline(ctx.redis, prefix);
  const events = await eventTimes(ctx.db, batchId, ['result_received']);
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
    const recorded = events.get(row.id)?.result_received;
    if (!task || task.finishesAt === null || recorded === undefined || !poll) continue;
    items.push({ finishesAt: task.finishesAt, completedAt: recorded, ...poll });
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
    row('Step: query upstream, record the result', 'step'),
  ].join('\n');
}

/**
 * A line's lag in the parts the events of its history mark: upstream's end → the callback's
 * arrival (`callback_received`, written by the API) → the poll step's query that confirmed the
 * result (`result_received`, the slot is free from there) → the archive step's success
 * (`completed_at`: stored, verified, succeeded).
 */
export interface StageParts {
  /** finishesAt → callback_received (only lines a callback reached before the result). */
  callback: number[];
  /** callback_received → result_received: promote the poll, query, record the result. */
  confirm: number[];
  /** finishesAt → result_received: the whole lag of the poll that saw the result. */
  seen: number[];
  /** result_received → completed_at: the archive step (download, store, success). */
  archive: number[];
}

/** The first time of each event kind per line of a batch, epoch ms. */
export async function eventTimes(
  db: DbHandle,
  batchId: string,
  kinds: string[],
): Promise<Map<string, Record<string, number>>> {
  const { rows } = await db.pool.query<{ id: string; kind: string; at: string }>(
    `select e.clone_job_id as id, e.kind, (extract(epoch from min(e.created_at)) * 1000)::bigint as at
       from clone_job_events e join clone_jobs j on j.id = e.clone_job_id
      where j.batch_id = $1 and e.kind = any($2::text[])
      group by 1, 2`,
    [batchId, kinds],
  );
  const out = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const entry = out.get(row.id) ?? {};
    entry[row.kind] = Number(row.at);
    out.set(row.id, entry);
  }
  return out;
}

export async function stageParts(
  db: DbHandle,
  batchId: string,
  rows: Array<{ id: string; taskId: string | null; completedAt: number | null }>,
  tasks: Array<{ taskId: string; finishesAt: number | null }>,
): Promise<StageParts> {
  const events = await eventTimes(db, batchId, ['callback_received', 'result_received']);
  const byTask = new Map(tasks.map((t) => [t.taskId, t]));
  const parts: StageParts = { callback: [], confirm: [], seen: [], archive: [] };
  for (const row of rows) {
    const task = row.taskId ? byTask.get(row.taskId) : undefined;
    const e = events.get(row.id);
    if (!task || task.finishesAt === null || row.completedAt === null || !e) continue;
    const result = e.result_received;
    const callback = e.callback_received;
    if (result === undefined) continue;
    parts.seen.push(result - task.finishesAt);
    parts.archive.push(row.completedAt - result);
    if (callback !== undefined && callback <= result) {
      parts.callback.push(callback - task.finishesAt);
      parts.confirm.push(result - callback);
    }
  }
  return parts;
}

/** A markdown table of StageParts at p50 and p95, one column pair per labelled set of runs. */
export function stageNote(title: string, sets: Array<{ label: string; parts: StageParts[] }>) {
  const all = (parts: StageParts[], k: keyof StageParts) => parts.flatMap((r) => r[k]);
  const rows: Array<[string, keyof StageParts]> = [
    ['Upstream end → callback received by the API', 'callback'],
    ['Callback received → result confirmed by the poll step (slot free)', 'confirm'],
    ['Upstream end → result confirmed (the poll lag)', 'seen'],
    ['Result confirmed → succeeded (archive: download, store, success transaction)', 'archive'],
  ];
  const header = `| Part | ${sets.map((s) => `${s.label}: p50 / p95 (ms) [n]`).join(' | ')} |`;
  return [
    title,
    '',
    header,
    `|---|${sets.map(() => '---:').join('|')}|`,
    ...rows.map(
      ([label, k]) =>
        `| ${label} | ${sets
          .map((s) => {
            const v = all(s.parts, k);
            return `${fmtMs(p(v, 50))} / ${fmtMs(p(v, 95))} [${v.length}]`;
          })
          .join(' | ')} |`,
    ),
  ].join('\n');
}
