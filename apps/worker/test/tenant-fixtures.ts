import { cloneJobs, createTenant, insertBatch, insertCloneJobs, newId } from '@voxline/db';
import { enqueue, jobIds, PRIORITY } from '@voxline/queue';
import type { SimTaskView } from '@voxline/runninghub-sim';
import { inArray } from 'drizzle-orm';
import { type Harness, voice } from './harness.js';

/** Another tenant of the harness's deployment, with its weight. */
export async function addTenant(h: Harness, name: string, weight = 1): Promise<string> {
  const { tenant } = await createTenant(h.db.db, { name, weight });
  return tenant.id;
}

/**
 * Inserts and enqueues lines of `tenantId` as the producer API does: one batch (batch then line
 * order, batch priority) or single lines (interactive). Returns their ids.
 */
export async function postLines(
  h: Harness,
  tenantId: string,
  texts: string[],
  { batch = true }: { batch?: boolean } = {},
): Promise<string[]> {
  const batchId = batch ? newId() : null;
  const priority = batch ? PRIORITY.batch : PRIORITY.interactive;
  const rows = texts.map((text, i) => ({
    id: newId(),
    tenantId,
    batchId,
    lineIndex: batch ? i : null,
    priority,
    request: { ...voice, text },
  }));
  await h.db.db.transaction(async (tx) => {
    if (batchId) {
      await insertBatch(tx, {
        id: batchId,
        tenantId,
        total: rows.length,
        voice,
        requestHash: batchId,
      });
    }
    for (let i = 0; i < rows.length; i += 1_000)
      await insertCloneJobs(tx, rows.slice(i, i + 1_000));
  });
  const jobs = rows.map((row) => ({
    jobId: jobIds.submit(row.id, 1),
    data: { cloneJobId: row.id, tenantId, run: 1 },
    options: { priority },
  }));
  for (let i = 0; i < jobs.length; i += 1_000) {
    await enqueue(h.runtime.context.queues, 'cloneSubmit', jobs.slice(i, i + 1_000));
  }
  return rows.map((r) => r.id);
}

/** The simulator's tasks, each with the tenant whose row recorded its task id. */
export async function tasksByTenant(
  h: Harness,
  ids: string[],
): Promise<Array<SimTaskView & { tenantId: string }>> {
  const rows = await h.db.db
    .select({ tenantId: cloneJobs.tenantId, taskId: cloneJobs.upstreamTaskId })
    .from(cloneJobs)
    .where(inArray(cloneJobs.id, ids));
  const tenantOf = new Map(rows.map((r) => [r.taskId, r.tenantId]));
  return h.sim.tasks().flatMap((task) => {
    const tenantId = tenantOf.get(task.taskId);
    return tenantId ? [{ ...task, tenantId }] : [];
  });
}

/**
 * Upstream seconds each tenant's tasks ran inside [from, to]: each task's running time
 * (runningAt to finishedAt, from the simulator) clipped to the window.
 */
export function slotSecondsIn(
  tasks: Array<SimTaskView & { tenantId: string }>,
  from: number,
  to: number,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of tasks) {
    const end = Math.min(task.finishedAt ?? to, to);
    const start = Math.max(task.runningAt, from);
    if (end <= start) continue;
    out.set(task.tenantId, (out.get(task.tenantId) ?? 0) + (end - start) / 1000);
  }
  return out;
}
