import { createTenant, type DbHandle } from '@voxline/db';
import { BenchApi } from './api.js';
import type { SimTaskView } from './simulator.js';

/**
 * Speech lines on a system voice: no voice to clone first, so every line is one upstream task
 * from the start. reuse_audio is off because lines of different tenants may repeat a text, and
 * a reused line never reaches upstream.
 */
const SPEECH = { model: 'speech-02-hd', system_voice: 'Calm_Woman', reuse_audio: false } as const;

export interface BenchTenant {
  id: string;
  name: string;
  api: BenchApi;
}

export async function createTenants(
  db: DbHandle,
  apiUrl: string,
  names: string[],
): Promise<BenchTenant[]> {
  const out: BenchTenant[] = [];
  for (const name of names) {
    const { tenant, apiKey } = await createTenant(db.db, { name });
    out.push({ id: tenant.id, name, api: new BenchApi(apiUrl, apiKey) });
  }
  return out;
}

/** A line as accepted: its id and when its 202 arrived (epoch ms, the simulator's clock too). */
export interface Accepted {
  id: string;
  acceptedAt: number;
}

/** POST /v1/clones once per text, `concurrency` requests at a time, in text order. */
export async function postSingles(
  tenant: BenchTenant,
  texts: string[],
  concurrency: number,
): Promise<Accepted[]> {
  const out: Accepted[] = new Array(texts.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < texts.length; i = next++) {
      const created = await tenant.api.request<{ id: string }>('POST', '/v1/clones', {
        ...SPEECH,
        text: texts[i],
      });
      out[i] = { id: created.id, acceptedAt: Date.now() };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, texts.length) }, lane));
  return out;
}

/** POST /v1/batches with the texts as its lines; returns the batch id. */
export async function postBatch(tenant: BenchTenant, texts: string[]): Promise<string> {
  const created = await tenant.api.request<{ id: string }>('POST', '/v1/batches', {
    ...SPEECH,
    lines: texts.map((text) => ({ text })),
  });
  return created.id;
}

export interface LineRow {
  id: string;
  tenantId: string;
  status: string;
  taskId: string | null;
  completedAt: number | null;
}

/** Every line of the run with its tenant and upstream task (the map from tasks to tenants). */
export async function lineRows(db: DbHandle): Promise<LineRow[]> {
  const { rows } = await db.pool.query<{
    id: string;
    tenant_id: string;
    status: string;
    upstream_task_id: string | null;
    completed_ms: string | null;
  }>(
    `select id, tenant_id, status, upstream_task_id,
            (extract(epoch from completed_at) * 1000)::bigint as completed_ms
       from clone_jobs`,
  );
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    status: r.status,
    taskId: r.upstream_task_id,
    completedAt: r.completed_ms === null ? null : Number(r.completed_ms),
  }));
}

/** Lines of the run not yet terminal. */
export async function linesLeft(db: DbHandle): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    `select count(*) as n from clone_jobs where status not in ('succeeded', 'failed', 'canceled')`,
  );
  return Number(rows[0]?.n);
}

/** When a task stopped holding its upstream slot: its end, or its scheduled end if still on. */
export function taskEnd(task: SimTaskView): number {
  return task.finishedAt ?? task.finishesAt ?? Number.POSITIVE_INFINITY;
}

/** Slot-seconds each tenant's tasks used inside [from, to], by tenant id. */
export function slotSeconds(
  tasks: SimTaskView[],
  tenantOfTask: Map<string, string>,
  from: number,
  to: number,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of tasks) {
    const tenant = tenantOfTask.get(task.taskId);
    if (!tenant) continue;
    const used = Math.max(0, Math.min(taskEnd(task), to) - Math.max(task.createdAt, from));
    out.set(tenant, (out.get(tenant) ?? 0) + used / 1000);
  }
  return out;
}

/** Jain's fairness index (Σx)² / (n·Σx²): 1 when all are equal, 1/n when one takes everything. */
export function jainIndex(values: number[]): number {
  const total = values.reduce((s, x) => s + x, 0);
  const squares = values.reduce((s, x) => s + x * x, 0);
  return squares === 0 ? Number.NaN : (total * total) / (values.length * squares);
}

/**
 * Throws, naming the first error, when any line of the run failed: shares and waits of a run
 * whose lines fail fast measure the failures, not the scheduler.
 */
export async function assertNoFailures(db: DbHandle): Promise<void> {
  const { rows } = await db.pool.query<{ n: string; code: string | null; message: string | null }>(
    `select count(*) over () as n, error_code as code, error_message as message
       from clone_jobs where status = 'failed' limit 1`,
  );
  const first = rows[0];
  if (first) {
    throw new Error(`${first.n} line(s) failed, the first with ${first.code}: ${first.message}`);
  }
}
