import {
  cloneJobs,
  deadLetters,
  getAudioResult,
  listCloneJobEvents,
  redriveDeadLetters,
  transitionCloneJob,
  type VoiceCloneRequest,
  webhookEvents,
} from '@voxline/db';
import { enqueue, jobIds } from '@voxline/queue';
import { waitFor } from '@voxline/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../src/reconciler.js';
import { type Harness, startHarness } from './harness.js';

describe('clone pipeline against the simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { POLL_DEADLINE_MS: '3000' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('takes one line through submit, polls and the archive to succeeded, with its audio', async () => {
    const { ids } = await h.submit(['The quick brown fox jumps over the lazy dog.']);
    const [job] = await h.waitTerminal(ids);
    expect(job?.status).toBe('succeeded');
    expect(job?.attempts).toBe(1);
    expect(job?.upstreamTaskId).toMatch(/^\d{16,}$/);
    const audio = await getAudioResult(h.db.db, {
      tenantId: h.tenantId,
      cloneJobId: ids[0] as string,
    });
    expect(audio?.url).toContain(`/files/${job?.upstreamTaskId}`);
    expect(audio?.usage?.consumeMoney).toBe('3.12');
    const [event] = await h.db.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.cloneJobId, ids[0] as string));
    expect(event?.type).toBe('clone.succeeded');
    // The event points at voxline's stored copy, and still names upstream's link.
    expect(audio?.archivedAt).not.toBeNull();
    expect(event?.payload).toMatchObject({
      data: {
        id: ids[0],
        status: 'succeeded',
        audio: {
          url: `${h.runtime.context.cloneEvents.baseUrl}/v1/clones/${ids[0]}/audio`,
          upstream_url: audio?.url,
          sha256: audio?.sha256,
        },
      },
    });
    const events = await listCloneJobEvents(h.db.db, {
      tenantId: h.tenantId,
      cloneJobId: ids[0] as string,
    });
    expect(events.filter((e) => e.kind === 'transition').map((e) => e.toStatus)).toEqual([
      'queued',
      'submitting',
      'running',
      'succeeded',
    ]);
    expect(await h.runtime.context.slots.inUse()).toBe(0);
    // The upstream voice id is unique per job, so a batch in one voice is not refused as a duplicate.
    expect(h.sim.task(job?.upstreamTaskId as string)?.customVoiceId).toMatch(
      /^narrator01-[0-9a-f]{8}1$/,
    );
  });

  it('ends each fatal class failed with its code and a dead letter, and never retries it', async () => {
    const texts = {
      moderation: 'Blocked words [[sim:submit=1505]]',
      balance: 'No money [[sim:submit=416]]',
      auth: 'Bad key [[sim:submit=801]]',
      badParams: 'Bad params [[sim:submit=301]]',
      cloneError: 'Voice too different [[sim:task=2039]]',
    };
    const { ids } = await h.submit(Object.values(texts));
    const rows = await h.waitTerminal(ids);
    const byText = new Map(rows.map((r) => [r.request.text, r]));
    const expectCode = {
      moderation: '1505',
      balance: '416',
      auth: '801',
      badParams: '301',
      cloneError: '2039',
    };
    for (const [name, text] of Object.entries(texts)) {
      const row = byText.get(text);
      expect(row?.status, name).toBe('failed');
      expect(row?.errorCode, name).toBe(expectCode[name as keyof typeof expectCode]);
      expect(row?.attempts, name).toBe(1);
      const letters = await h.db.db
        .select()
        .from(deadLetters)
        .where(eq(deadLetters.cloneJobId, row?.id as string));
      expect(letters, name).toHaveLength(1);
      expect(letters[0]?.errorCode).toBe(row?.errorCode);
    }
    const dlq = await waitFor('dead-letter records', async () => {
      const n = await h.runtime.context.queues.deadLetter.getJobCountByTypes(
        'completed',
        'waiting',
        'active',
      );
      return n >= 5 ? n : undefined;
    });
    expect(dlq).toBeGreaterThanOrEqual(5);
    expect(await h.runtime.context.slots.inUse()).toBe(0);
  });

  it('recovers from retryable upstream errors and faults', async () => {
    // Scripted, not drawn: four submit faults stay under SUBMIT_MAX_ATTEMPTS (5) and five query
    // faults within POLL_MAX_QUERY_ERRORS (5) even if one line takes them all, so every line
    // must succeed whatever the order in which the workers meet them.
    const before = injectedFaults(h);
    h.sim.setScenario({
      script: {
        submit: ['http500', 'http502', 'code1003', 'truncatedJson'],
        query: ['http500', 'http502', 'code1003', 'truncatedJson', 'malformedJson'],
      },
    });
    const { ids } = await h.submit(
      Array.from({ length: 30 }, (_, i) => `Line ${i} of a flaky day.`),
    );
    const rows = await h.waitTerminal(ids);
    expect(rows.filter((r) => r.status !== 'succeeded').map((r) => r.errorCode)).toEqual([]);
    expect(injectedFaults(h) - before).toBe(9);
    expect(await h.runtime.context.slots.inUse()).toBe(0);
  });

  it('fails a task that never ends once the poll deadline passes, and frees its slot', async () => {
    const { ids } = await h.submit(['Endless [[sim:never]]']);
    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('failed');
    expect(row?.errorCode).toBe('POLL_DEADLINE');
    expect(await h.runtime.context.slots.inUse()).toBe(0);
  });

  it('cancels a running job: its task finishes upstream, the result is dropped, the slot freed', async () => {
    const { ids } = await h.submit(['Slow one [[sim:duration=1500]]']);
    const id = ids[0] as string;
    await waitFor(
      'the job to run upstream',
      async () => (await h.jobs(ids))[0]?.status === 'running',
    );
    expect(
      await transitionCloneJob(h.db.db, {
        tenantId: h.tenantId,
        id,
        from: ['queued', 'submitting', 'running'],
        to: 'canceled',
      }),
    ).not.toBeNull();
    await waitFor('the dropped result', async () =>
      (await listCloneJobEvents(h.db.db, { tenantId: h.tenantId, cloneJobId: id })).some(
        (e) => e.kind === 'result_dropped',
      ),
    );
    expect((await h.jobs(ids))[0]?.status).toBe('canceled');
    expect(await getAudioResult(h.db.db, { tenantId: h.tenantId, cloneJobId: id })).toBeNull();
    expect(await h.runtime.context.slots.inUse()).toBe(0);
  });

  it('re-queues a job whose BullMQ entry was lost (reconciler)', async () => {
    await h.runtime.context.queues.cloneSubmit.pause();
    const { ids } = await h.submit(['Lost in Redis.']);
    const id = ids[0] as string;
    await h.runtime.context.queues.cloneSubmit.remove(jobIds.submit(id, 1));
    await h.runtime.context.queues.cloneSubmit.resume();
    const report = await reconcile(h.runtime.context);
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('succeeded');
  });

  it('applies the resubmit policy to an ambiguous submit and counts it', async () => {
    await h.runtime.context.queues.cloneSubmit.pause();
    const { ids } = await h.submit(['Crashed mid-submit.']);
    const id = ids[0] as string;
    // As if a worker died after marking the job submitting, before any task id was stored,
    // longer ago than any submit call can last.
    await transitionCloneJob(h.db.db, {
      tenantId: h.tenantId,
      id,
      from: ['queued'],
      to: 'submitting',
    });
    const longAgo = new Date(Date.now() - h.config.RUNNINGHUB_REQUEST_TIMEOUT_MS - 10_000);
    await h.db.db.update(cloneJobs).set({ updatedAt: longAgo }).where(eq(cloneJobs.id, id));
    await h.runtime.context.queues.cloneSubmit.resume();
    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('succeeded');
    expect(row?.attempts).toBe(2);
    const events = await listCloneJobEvents(h.db.db, { tenantId: h.tenantId, cloneJobId: id });
    expect(events.filter((e) => e.kind === 'ambiguous_submit')).toHaveLength(1);
    const metric = await h.runtime.context.metrics.ambiguousSubmits.get();
    expect(metric.values.find((v) => v.labels.policy === 'resubmit')?.value).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('waits for a submitter that may still be in its call instead of submitting twice', async () => {
    const { queues, upstream } = h.runtime.context;
    await queues.cloneSubmit.pause();
    const { ids } = await h.submit(['Still on the wire.']);
    const id = ids[0] as string;
    // The test plays a live submitter whose lock lapsed: the job is handed to the worker while
    // the first submit call is still on its way.
    const submitting = await transitionCloneJob(h.db.db, {
      tenantId: h.tenantId,
      id,
      from: ['queued'],
      to: 'submitting',
    });
    const submitsBefore = h.sim.stats().submits;
    await queues.cloneSubmit.resume();
    await waitFor(
      'the worker to park the step',
      async () => (await queues.cloneSubmit.getJobState(jobIds.submit(id, 1))) === 'delayed',
    );
    expect(h.sim.stats().submits).toBe(submitsBefore);

    // The first submitter's call returns: it queues the poll and records the task.
    const task = await upstream.submitVoiceClone(submitting?.request as VoiceCloneRequest);
    await enqueue(queues, 'clonePoll', [
      {
        jobId: jobIds.poll(id, 1),
        data: {
          cloneJobId: id,
          tenantId: h.tenantId,
          run: 1,
          taskId: task.taskId,
          submittedAt: Date.now(),
        },
      },
    ]);
    await transitionCloneJob(h.db.db, {
      tenantId: h.tenantId,
      id,
      from: ['submitting'],
      to: 'running',
      set: { upstreamTaskId: task.taskId, attempts: 1 },
    });
    // Wake the parked step now rather than at the end of the request timeout.
    await (await queues.cloneSubmit.getJob(jobIds.submit(id, 1)))?.promote();

    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('succeeded');
    expect(row?.upstreamTaskId).toBe(task.taskId);
    expect(h.sim.stats().submits).toBe(submitsBefore + 1);
    const events = await listCloneJobEvents(h.db.db, { tenantId: h.tenantId, cloneJobId: id });
    expect(events.filter((e) => e.kind === 'ambiguous_submit')).toEqual([]);
    await waitFor(
      'the parked step to see the job running and end',
      async () => (await queues.cloneSubmit.getJobState(jobIds.submit(id, 1))) === 'completed',
    );
    expect(h.sim.stats().submits).toBe(submitsBefore + 1);
  });

  it('redrives a dead-lettered job as a new run that succeeds, keeping its history', async () => {
    h.sim.setScenario({ script: { submit: [{ kind: 'code', code: '1505' }] } });
    const { ids } = await h.submit(['Moderated once, fine the second time.']);
    const id = ids[0] as string;
    const [failed] = await h.waitTerminal(ids);
    expect(failed?.errorCode).toBe('1505');

    const chunk = await redriveDeadLetters(h.db.db, {
      tenantId: h.tenantId,
      ids: [id],
      limit: 100,
    });
    expect(chunk.redriven.map((r) => r.job.run)).toEqual([2]);
    await enqueue(h.runtime.context.queues, 'cloneSubmit', [
      { jobId: jobIds.submit(id, 2), data: { cloneJobId: id, tenantId: h.tenantId, run: 2 } },
    ]);
    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('succeeded');
    expect(row?.run).toBe(2);
    expect(row?.attempts).toBe(2);
    const transitions = (
      await listCloneJobEvents(h.db.db, { tenantId: h.tenantId, cloneJobId: id })
    )
      .filter((e) => e.kind === 'transition')
      .map((e) => e.toStatus);
    expect(transitions).toEqual([
      'queued',
      'submitting',
      'failed',
      'queued',
      'submitting',
      'running',
      'succeeded',
    ]);
    const letters = await h.db.db.select().from(deadLetters).where(eq(deadLetters.cloneJobId, id));
    expect(letters).toHaveLength(1);
    expect(letters[0]?.redrivenAt).toBeInstanceOf(Date);
  });
});

function injectedFaults(h: Harness): number {
  return Object.values(h.sim.stats().errorsInjected).reduce((a, b) => a + b, 0);
}
