import type { DbHandle } from '@voxline/db';
import { decodeUpstreamVoiceId, upstreamJobKey } from '@voxline/runninghub';
import type { SimTaskView } from '@voxline/runninghub-sim';
import { waitFor } from '@voxline/testing/wait';
import type { Stack } from './stack.js';

export const TERMINAL = ['succeeded', 'failed', 'canceled'] as const;
const TERMINAL_SQL = `('succeeded', 'failed', 'canceled')`;
const ACTIVE_SQL = `('queued', 'submitting', 'running')`;

/** The job an upstream task was submitted for, as the worker's voice-id suffix names it. */
export function jobKeyOfTask(task: Pick<SimTaskView, 'customVoiceId'>): string | undefined {
  return decodeUpstreamVoiceId(task.customVoiceId)?.jobKey;
}

export interface JobRow {
  id: string;
  status: string;
  errorCode: string | null;
  attempts: number;
  upstreamTaskId: string | null;
}

export async function jobRows(db: DbHandle): Promise<JobRow[]> {
  const { rows } = await db.pool.query<{
    id: string;
    status: string;
    error_code: string | null;
    attempts: number;
    upstream_task_id: string | null;
  }>('select id, status, error_code, attempts, upstream_task_id from clone_jobs');
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    errorCode: r.error_code,
    attempts: r.attempts,
    upstreamTaskId: r.upstream_task_id,
  }));
}

export async function countLines(db: DbHandle): Promise<{ total: number; active: number }> {
  const { rows } = await db.pool.query<{ total: string; active: string }>(
    `select count(*) as total, count(*) filter (where status in ${ACTIVE_SQL}) as active
       from clone_jobs`,
  );
  return { total: Number(rows[0]?.total ?? 0), active: Number(rows[0]?.active ?? 0) };
}

export async function countTerminal(db: DbHandle): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    `select count(*) as n from clone_jobs where status in ${TERMINAL_SQL}`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Waits until no line of the stack's database is active. Resolves false at the deadline
 * instead of throwing: the audit then reports the lines that were lost.
 */
export async function waitSettled(stack: Stack, timeoutMs: number): Promise<boolean> {
  return waitFor(
    'every line to reach a terminal state',
    async () => {
      const { total, active } = await countLines(stack.db);
      return total > 0 && active === 0;
    },
    { timeoutMs, intervalMs: 200 },
  ).then(
    () => true,
    () => false,
  );
}

/** The first terminal transition committed after `since`, or null. */
export async function firstTerminalAfter(db: DbHandle, since: Date): Promise<Date | null> {
  const { rows } = await db.pool.query<{ at: Date | null }>(
    `select min(created_at) as at from clone_job_events
      where kind = 'transition' and to_status in ${TERMINAL_SQL} and created_at > $1`,
    [since],
  );
  return rows[0]?.at ?? null;
}

/** When the last line finished (the end of the run as the record has it). */
export async function lastTerminalAt(db: DbHandle): Promise<Date | null> {
  const { rows } = await db.pool.query<{ at: Date | null }>(
    `select max(created_at) as at from clone_job_events
      where kind = 'transition' and to_status in ${TERMINAL_SQL}`,
  );
  return rows[0]?.at ?? null;
}

/** Waits for a line to finish after `since`; the wait is the recovery time of a fault. */
export async function recoveryAfter(
  stack: Stack,
  since: Date,
  timeoutMs = 120_000,
): Promise<number | null> {
  const at = await waitFor(
    'a line to finish after the fault',
    async () => (await firstTerminalAfter(stack.db, since)) ?? undefined,
    { timeoutMs, intervalMs: 100 },
  ).catch(() => null);
  return at ? at.getTime() - since.getTime() : null;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export function check(name: string, ok: boolean, detail = ''): Check {
  return { name, ok, detail };
}

export interface LineAudit {
  lines: number;
  terminal: number;
  /** Lines accepted but not terminal at the end: must be 0. */
  lost: number;
  byOutcome: Record<string, number>;
  /** Jobs with other than exactly one terminal transition event. */
  notExactlyOnce: Array<{ id: string; terminalEvents: number }>;
  /** Upstream tasks per job beyond the first (the simulator's bill against the jobs). */
  extraTasks: number;
  /** Upstream tasks no job ever followed: each one paid for and thrown away. */
  orphanTasks: number;
  /** `ambiguous_submit` events: the cases the worker counted as possibly paid twice. */
  ambiguous: number;
  /** Tasks the simulator holds for job keys that match no line (should be none). */
  strayTasks: number;
  /** Live slot leases at the end, after waiting out the lease horizon. */
  slotsInUse: number;
  slotsDrainedMs: number | null;
  jobs: JobRow[];
  followed: Map<string, string[]>;
  tasksByJob: Map<string, SimTaskView[]>;
}

/**
 * The upstream tasks each job recorded as its own, in order: the task of each `running`
 * transition, and the one a success was recorded from (a poll job may finish a task other
 * than the last one recorded, after two steps raced).
 */
async function followedTasks(db: DbHandle): Promise<Map<string, string[]>> {
  const { rows } = await db.pool.query<{ clone_job_id: string; task_id: string }>(
    `select clone_job_id, detail->>'taskId' as task_id from clone_job_events
      where kind = 'transition' and to_status in ('running', 'succeeded') and detail ? 'taskId'
      order by id`,
  );
  const out = new Map<string, string[]>();
  for (const row of rows) {
    const list = out.get(row.clone_job_id) ?? [];
    if (!list.includes(row.task_id)) list.push(row.task_id);
    out.set(row.clone_job_id, list);
  }
  return out;
}

/**
 * Everything the invariants need, read from Postgres (the record), the simulator (what
 * upstream would bill) and Redis (slots).
 */
export async function auditLines(
  stack: Stack,
  options: { slotDrainTimeoutMs?: number } = {},
): Promise<LineAudit> {
  const jobs = await jobRows(stack.db);
  const { rows: eventRows } = await stack.db.pool.query<{ id: string; n: string }>(
    `select j.id, count(e.id) as n from clone_jobs j
       left join clone_job_events e on e.clone_job_id = j.id and e.kind = 'transition'
        and e.to_status in ${TERMINAL_SQL}
      group by j.id`,
  );
  const notExactlyOnce = eventRows
    .filter((r) => Number(r.n) !== 1)
    .map((r) => ({ id: r.id, terminalEvents: Number(r.n) }));
  const { rows: ambiguousRows } = await stack.db.pool.query<{ n: string }>(
    `select count(*) as n from clone_job_events where kind = 'ambiguous_submit'`,
  );
  const followed = await followedTasks(stack.db);

  const keys = new Map(jobs.map((j) => [upstreamJobKey(j.id), j.id]));
  const tasksByJob = new Map<string, SimTaskView[]>();
  let strayTasks = 0;
  for (const task of stack.sim.tasks()) {
    const key = jobKeyOfTask(task);
    const id = key === undefined ? undefined : keys.get(key);
    if (!id) {
      strayTasks += 1;
      continue;
    }
    const list = tasksByJob.get(id) ?? [];
    list.push(task);
    tasksByJob.set(id, list);
  }
  let extraTasks = 0;
  let orphanTasks = 0;
  for (const [id, tasks] of tasksByJob) {
    extraTasks += tasks.length - 1;
    const known = new Set(followed.get(id) ?? []);
    orphanTasks += tasks.filter((t) => !known.has(t.taskId)).length;
  }

  const byOutcome: Record<string, number> = {};
  for (const job of jobs) {
    const key = job.status === 'failed' ? `failed ${job.errorCode ?? '?'}` : job.status;
    byOutcome[key] = (byOutcome[key] ?? 0) + 1;
  }
  const terminal = jobs.filter((j) => (TERMINAL as readonly string[]).includes(j.status)).length;

  const drainStart = Date.now();
  const drained = await waitFor(
    'every upstream slot to be released',
    async () => ((await stack.slotsInUse()) === 0 ? true : undefined),
    { timeoutMs: options.slotDrainTimeoutMs ?? 15_000, intervalMs: 100 },
  ).then(
    () => true,
    () => false,
  );
  return {
    lines: jobs.length,
    terminal,
    lost: jobs.length - terminal,
    byOutcome,
    notExactlyOnce,
    extraTasks,
    orphanTasks,
    ambiguous: Number(ambiguousRows[0]?.n ?? 0),
    strayTasks,
    slotsInUse: drained ? 0 : await stack.slotsInUse(),
    slotsDrainedMs: drained ? Date.now() - drainStart : null,
    jobs,
    followed,
    tasksByJob,
  };
}

/** The invariants every run must keep, whatever was done to it. */
export function lineChecks(audit: LineAudit, expectedLines: number): Check[] {
  const sample = audit.notExactlyOnce
    .slice(0, 5)
    .map((j) => `${j.id}: ${j.terminalEvents}`)
    .join(', ');
  return [
    check(
      'every accepted line is in the database',
      audit.lines === expectedLines,
      `${audit.lines} of ${expectedLines}`,
    ),
    check('no line lost (every line terminal)', audit.lost === 0, `${audit.lost} not terminal`),
    check(
      'exactly one terminal transition per line',
      audit.notExactlyOnce.length === 0,
      audit.notExactlyOnce.length ? `${audit.notExactlyOnce.length} lines: ${sample}` : '',
    ),
    check(
      'extra upstream tasks per line <= ambiguous submits counted',
      audit.extraTasks <= audit.ambiguous,
      `${audit.extraTasks} extra tasks, ${audit.ambiguous} ambiguous_submit events`,
    ),
    check(
      'upstream tasks no line followed <= ambiguous submits counted',
      audit.orphanTasks <= audit.ambiguous,
      `${audit.orphanTasks} orphan tasks, ${audit.ambiguous} ambiguous_submit events`,
    ),
    check(
      'no upstream slot leaked',
      audit.slotsInUse === 0,
      audit.slotsDrainedMs === null
        ? `${audit.slotsInUse} still held`
        : `released ${audit.slotsDrainedMs} ms after the last line`,
    ),
    check('no upstream task outside the lines', audit.strayTasks === 0, `${audit.strayTasks}`),
  ];
}
