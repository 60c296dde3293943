import {
  type ArchivedFile,
  type AudioResult,
  type CloneJob,
  getAudioResult,
  getBatch,
  insertBatch,
  insertCloneJobs,
  listCloneJobEvents,
  newId,
  storeTaskResult,
  transitionCloneJob,
  webhookEvents,
} from '@voxline/db';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, voice } from './harness.js';

const file = (key: string): ArchivedFile => ({
  key,
  sha256: 'b'.repeat(64),
  bytes: 64_044,
  format: 'wav',
  contentType: 'audio/wav',
  durationMs: 2_000,
  sampleRate: 16_000,
  channels: 1,
});

describe('marking lines succeeded', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /**
   * Lines of a new batch, `running` with their task's result stored, as the poll step leaves
   * them; nothing is queued for them, so only the test moves them on.
   */
  async function runningLines(count: number) {
    const batchId = newId();
    const ids = Array.from({ length: count }, () => newId());
    await insertBatch(h.db.db, {
      id: batchId,
      tenantId: h.tenantId,
      total: count,
      voice,
      requestHash: batchId,
    });
    await insertCloneJobs(
      h.db.db,
      ids.map((id, lineIndex) => ({
        id,
        tenantId: h.tenantId,
        batchId,
        lineIndex,
        priority: 1,
        request: { ...voice, text: `line ${lineIndex}` },
      })),
    );
    const lines: Array<{ job: CloneJob; result: AudioResult }> = [];
    for (const id of ids) {
      await transitionCloneJob(h.db.db, {
        tenantId: h.tenantId,
        id,
        from: ['queued'],
        to: 'submitting',
      });
      const job = await transitionCloneJob(h.db.db, {
        tenantId: h.tenantId,
        id,
        from: ['submitting'],
        to: 'running',
        set: { upstreamTaskId: `task-${id}` },
      });
      const result = await storeTaskResult(h.db.db, {
        tenantId: h.tenantId,
        cloneJobId: id,
        task: {
          taskId: `task-${id}`,
          usage: null,
          raw: {},
          audio: { url: `https://cdn.example.com/${id}.wav`, type: 'wav' },
        },
        urlExpiresAt: new Date(Date.now() + 3_600_000),
        actualCost: 0.1,
      });
      if (!job || !result) throw new Error('could not prepare a running line');
      lines.push({ job, result });
    }
    return { batchId, lines };
  }

  async function groupSizes(): Promise<{ count: number; sum: number }> {
    const { values } = await h.runtime.context.metrics.successGroupSize.get();
    const value = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
    return {
      count: value('voxline_success_group_lines_count'),
      sum: value('voxline_success_group_lines_sum'),
    };
  }

  it('commits the lines whose steps finish together in one transaction, with their files', async () => {
    const { batchId, lines } = await runningLines(12);
    const before = await groupSizes();
    const recorded = await Promise.all(
      lines.map(({ job, result }) =>
        h.runtime.context.successes.record({ job, result, file: file(`t/${job.id}.wav`) }),
      ),
    );
    expect(recorded).toEqual(lines.map(() => true));
    // One group of twelve: one transaction, not twelve.
    expect(await groupSizes()).toEqual({ count: before.count + 1, sum: before.sum + 12 });

    for (const { job } of lines) {
      const [row] = await h.jobs([job.id]);
      expect(row?.status).toBe('succeeded');
      const audio = await getAudioResult(h.db.db, { tenantId: h.tenantId, cloneJobId: job.id });
      expect(audio).toMatchObject({ storageKey: `t/${job.id}.wav`, durationMs: 2_000 });
      const events = await listCloneJobEvents(h.db.db, {
        tenantId: h.tenantId,
        cloneJobId: job.id,
      });
      expect(events.at(-1)).toMatchObject({
        fromStatus: 'running',
        toStatus: 'succeeded',
        detail: { taskId: `task-${job.id}` },
      });
    }
    const succeededEvents = await h.db.db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.batchId, batchId), eq(webhookEvents.type, 'clone.succeeded')));
    expect(succeededEvents).toHaveLength(12);
    // The last line of the batch finished it, once.
    expect((await getBatch(h.db.db, { tenantId: h.tenantId, id: batchId }))?.status).toBe(
      'completed',
    );
    const completed = await h.db.db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.batchId, batchId), eq(webhookEvents.type, 'batch.completed')));
    expect(completed).toHaveLength(1);
  });

  it('fails only the line whose row cannot be written; the rest of its group succeeds', async () => {
    const { lines } = await runningLines(4);
    const [bad, ...good] = lines as [(typeof lines)[0], ...typeof lines];
    const outcomes = await Promise.allSettled([
      // A sample rate past Postgres' integer: its update fails, and so would the group's.
      h.runtime.context.successes.record({
        ...bad,
        file: { ...file(`t/${bad.job.id}.wav`), sampleRate: 2 ** 40 },
      }),
      ...good.map(({ job, result }) =>
        h.runtime.context.successes.record({ job, result, file: file(`t/${job.id}.wav`) }),
      ),
    ]);
    expect(outcomes[0]?.status).toBe('rejected');
    expect(outcomes.slice(1).map((o) => o.status === 'fulfilled' && o.value)).toEqual([
      true,
      true,
      true,
    ]);
    const rows = await h.jobs(lines.map((l) => l.job.id));
    const status = new Map(rows.map((r) => [r.id, r.status]));
    expect(status.get(bad.job.id)).toBe('running');
    for (const { job } of good) expect(status.get(job.id)).toBe('succeeded');
    expect(
      (await getAudioResult(h.db.db, { tenantId: h.tenantId, cloneJobId: bad.job.id }))?.archivedAt,
    ).toBeNull();
  });

  it('answers false for a line that is no longer running, and still records its file', async () => {
    const { lines } = await runningLines(1);
    const [{ job, result }] = lines as [(typeof lines)[0]];
    await transitionCloneJob(h.db.db, {
      tenantId: h.tenantId,
      id: job.id,
      from: ['running'],
      to: 'canceled',
    });
    expect(
      await h.runtime.context.successes.record({ job, result, file: file(`t/${job.id}.wav`) }),
    ).toBe(false);
    expect((await h.jobs([job.id]))[0]?.status).toBe('canceled');
    // The file exists in the store: its row says so, for retention to find it.
    expect(
      (await getAudioResult(h.db.db, { tenantId: h.tenantId, cloneJobId: job.id }))?.storageKey,
    ).toBe(`t/${job.id}.wav`);
  });
});
