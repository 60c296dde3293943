import { createTestRedis, type TestRedis, waitFor } from '@voxline/testing';
import { type Job, Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settle } from '../src/step.js';
import { delay, done, fail, park, type StepOutcome } from '../src/step-outcome.js';

// Each job names the outcomes of its successive runs; the processor settles them in turn.
// `park` (a function cannot travel in job data) makes the first run park and record the job's
// state as its afterParked hook sees it.
type Script = { outcomes: StepOutcome[]; run?: number; park?: boolean };

describe('settling a step outcome with BullMQ', () => {
  let redis: TestRedis;
  let queue: Queue;
  let worker: Worker;
  const runs = new Map<string, Array<{ at: number; data: Script }>>();
  const seenWhenParked = new Map<string, string>();

  beforeAll(async () => {
    redis = await createTestRedis();
    const connection = redis.redis;
    queue = new Queue('settle', { connection, prefix: redis.prefix });
    worker = new Worker(
      'settle',
      async (job: Job<Script>, token?: string) => {
        const seen = runs.get(job.id ?? '') ?? [];
        seen.push({ at: Date.now(), data: job.data });
        runs.set(job.id ?? '', seen);
        const run = job.data.run ?? 0;
        const id = job.id ?? '';
        const outcome =
          job.data.park && run === 0
            ? park(600_000, async () => {
                seenWhenParked.set(id, await queue.getJobState(id));
              })
            : (job.data.outcomes[run] ?? done);
        // The next run reads its outcome from the data a delay carries.
        const next =
          outcome.kind === 'delay' ? { ...outcome, data: { ...job.data, run: run + 1 } } : outcome;
        await settle(job, token, next);
        return 'settled';
      },
      { connection, prefix: redis.prefix },
    );
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await redis?.cleanup();
  });

  const finalState = (id: string) =>
    waitFor(`job ${id} to finish`, async () => {
      const state = await queue.getJobState(id);
      return state === 'completed' || state === 'failed' ? state : undefined;
    });

  it('done completes the job with what the processor returned', async () => {
    await queue.add('s', { outcomes: [done] }, { jobId: 'done', attempts: 3 });
    expect(await finalState('done')).toBe('completed');
    const job = await queue.getJob('done');
    expect(job?.returnvalue).toBe('settled');
    expect(runs.get('done')).toHaveLength(1);
  });

  it('delay parks the job for the time given, with its new data, spending no attempt', async () => {
    await queue.add('s', { outcomes: [delay(400), done] }, { jobId: 'delay', attempts: 1 });
    await waitFor('the delayed job to be parked', async () =>
      (await queue.getJobState('delay')) === 'delayed' ? true : undefined,
    );
    expect(await finalState('delay')).toBe('completed');
    const [first, second] = runs.get('delay') ?? [];
    expect(runs.get('delay')).toHaveLength(2);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(390);
    // attempts: 1, yet it ran twice and completed: a delay is not a failed attempt.
    expect(second?.data.run).toBe(1);
  });

  it('park runs its hook only once the job is delayed, so a release can promote it', async () => {
    await queue.add('s', { outcomes: [], park: true }, { jobId: 'park' });
    const state = await waitFor('the park hook to run', async () => seenWhenParked.get('park'));
    expect(state).toBe('delayed');
    expect(await queue.getJobState('park')).toBe('delayed');
  });

  it('fail ends the job failed with its code, and BullMQ does not retry it', async () => {
    await queue.add(
      's',
      { outcomes: [fail('UPSTREAM_TASK_LOST', 'no such task')] },
      { jobId: 'fail', attempts: 5, backoff: { type: 'fixed', delay: 10 } },
    );
    expect(await finalState('fail')).toBe('failed');
    const job = await queue.getJob('fail');
    expect(job?.failedReason).toBe('UPSTREAM_TASK_LOST: no such task');
    expect(runs.get('fail')).toHaveLength(1);
  });
});
