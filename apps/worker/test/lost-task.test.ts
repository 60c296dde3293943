import { deadLetters, redriveDeadLetters } from '@voxline/db';
import { enqueue, jobIds } from '@voxline/queue';
import { waitFor } from '@voxline/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

describe('a task upstream no longer knows', () => {
  let h: Harness;
  beforeAll(async () => {
    // A budget of query errors the lost task must not spend: one 1004 is enough to decide.
    h = await startHarness({ env: { POLL_MAX_QUERY_ERRORS: '5' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('fails as UPSTREAM_TASK_LOST after one query, dead-lettered, and a redrive succeeds', async () => {
    const { ids } = await h.submit(['Forgotten upstream. [[sim:duration=2500]]']);
    const id = ids[0] as string;
    const running = await waitFor('the job to run upstream', async () => {
      const [job] = await h.jobs(ids);
      return job?.status === 'running' && job.upstreamTaskId ? job : undefined;
    });
    const taskId = running.upstreamTaskId as string;
    const unknownBefore = h.sim.stats().queries.unknown;
    expect(h.sim.forgetTask(taskId)).toBe(true);

    const [failed] = await h.waitTerminal(ids);
    expect(failed?.status).toBe('failed');
    expect(failed?.errorCode).toBe('UPSTREAM_TASK_LOST');
    expect(failed?.errorMessage).toContain(taskId);
    await waitFor(
      'the poll job to end',
      async () =>
        (await h.runtime.context.queues.clonePoll.getJobState(jobIds.poll(id, 1))) === 'failed',
    );
    expect(h.sim.stats().queries.unknown - unknownBefore).toBe(1);
    expect(await h.runtime.context.slots.inUse()).toBe(0);

    const letters = await h.db.db.select().from(deadLetters).where(eq(deadLetters.cloneJobId, id));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      errorCode: 'UPSTREAM_TASK_LOST',
      lastResponse: { taskId, status: '', errorCode: '1004', results: null, usage: null },
    });

    const chunk = await redriveDeadLetters(h.db.db, { tenantId: h.tenantId, ids: [id], limit: 10 });
    expect(chunk.redriven.map((r) => r.job.run)).toEqual([2]);
    await enqueue(h.runtime.context.queues, 'cloneSubmit', [
      { jobId: jobIds.submit(id, 2), data: { cloneJobId: id, tenantId: h.tenantId, run: 2 } },
    ]);
    const [redriven] = await h.waitTerminal(ids);
    expect(redriven).toMatchObject({ status: 'succeeded', run: 2, errorCode: null });
    expect(redriven?.upstreamTaskId).not.toBe(taskId);
  });
});
