import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  audioResults,
  deadLetters,
  getAudioResult,
  getCloneJob,
  listCloneJobEvents,
  redriveDeadLetters,
} from '@voxline/db';
import { enqueue, jobIds } from '@voxline/queue';
import { waitFor } from '@voxline/testing';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../src/reconciler.js';
import { purgeExpiredAudio } from '../src/retention.js';
import { audioDir, type Harness, startHarness } from './harness.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// Upstream links die after this: long enough for the test to fetch one right after its task
// succeeded, short enough to then wait for it to expire.
const LINK_TTL_MS = 4_000;

describe('the archive step: results copied into the audio store', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sim: { linkTtlMs: LINK_TTL_MS },
      env: { AUDIO_RETENTION_DAYS: '1' },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  async function resultOf(id: string) {
    const audio = await getAudioResult(h.db.db, { tenantId: h.tenantId, cloneJobId: id });
    if (!audio) throw new Error(`no audio result for ${id}`);
    return audio;
  }

  it('stores the file byte-exact with its metadata, and keeps it after the upstream link expired', async () => {
    const { ids } = await h.submit(['A line worth keeping after Sunday.']);
    const id = ids[0] as string;
    const [job] = await h.waitTerminal(ids);
    expect(job?.status).toBe('succeeded');
    const audio = await resultOf(id);
    // What upstream serves, fetched while its link still works.
    const upstream = await fetch(audio.url);
    expect(upstream.status).toBe(200);
    const upstreamBytes = Buffer.from(await upstream.arrayBuffer());

    expect(audio.storageKey).toBe(`${h.tenantId}/${id}-1.wav`);
    expect(audio).toMatchObject({
      sha256: sha256(upstreamBytes),
      bytes: upstreamBytes.length,
      format: 'wav',
      contentType: 'audio/wav',
    });
    expect(audio.durationMs).toBeGreaterThan(0);
    expect(audio.sampleRate).toBeGreaterThan(0);
    expect(audio.channels).toBe(1);
    expect(audio.archivedAt).toBeInstanceOf(Date);
    const events = await listCloneJobEvents(h.db.db, { tenantId: h.tenantId, cloneJobId: id });
    expect(events.map((e) => (e.kind === 'transition' ? e.toStatus : e.kind))).toEqual([
      'queued',
      'submitting',
      'running',
      'result_received',
      'succeeded',
    ]);

    await waitFor(
      'the upstream link to expire',
      async () => ((await fetch(audio.url)).status !== 200 ? true : undefined),
      { timeoutMs: LINK_TTL_MS * 3, intervalMs: 200 },
    );
    const stored = await h.runtime.context.audio.store.get(audio.storageKey as string);
    const chunks: Buffer[] = [];
    for await (const chunk of stored?.body ?? []) chunks.push(chunk as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(upstreamBytes));
    // On disk in the folder AUDIO_STORE names.
    const onDisk = await readFile(join(audioDir(h.redis), audio.storageKey as string));
    expect(sha256(onDisk)).toBe(sha256(upstreamBytes));
    const metrics = await h.runtime.context.metrics.registry.getSingleMetricAsString(
      'voxline_archive_bytes_total',
    );
    expect(metrics).toMatch(/voxline_archive_bytes_total [1-9]/);
  });

  it('deletes files archived longer ago than AUDIO_RETENTION_DAYS and marks them purged', async () => {
    const { ids } = await h.submit(['An old line.', 'A recent line.']);
    await h.waitTerminal(ids);
    const [oldId, recentId] = ids as [string, string];
    await h.db.db
      .update(audioResults)
      .set({ archivedAt: sql`now() - interval '2 days'` })
      .where(eq(audioResults.cloneJobId, oldId));
    const store = h.runtime.context.audio.store;
    const oldKey = (await resultOf(oldId)).storageKey as string;
    const recentKey = (await resultOf(recentId)).storageKey as string;
    expect(await store.head(oldKey)).not.toBeNull();

    // The first test's line is recent too: only the aged one goes.
    expect(await purgeExpiredAudio(h.runtime.context)).toBe(1);
    expect(await store.head(oldKey)).toBeNull();
    expect((await resultOf(oldId)).purgedAt).toBeInstanceOf(Date);
    expect(await store.head(recentKey)).not.toBeNull();
    expect((await resultOf(recentId)).purgedAt).toBeNull();
    // Nothing left to do the second time.
    expect(await purgeExpiredAudio(h.runtime.context)).toBe(0);
  });

  it('re-queues the archive of a running line whose archive job Redis lost', async () => {
    const { ids } = await h.submit(['Archived after a lost job.']);
    const id = ids[0] as string;
    await h.waitTerminal(ids);
    // Back to the state a crash between storing the result and queueing the archive leaves.
    await h.db.db.execute(
      sql`update clone_jobs set status = 'running', completed_at = null where id = ${id}`,
    );
    await h.db.db
      .update(audioResults)
      .set({ archivedAt: null, storageKey: null })
      .where(eq(audioResults.cloneJobId, id));
    await h.runtime.context.queues.cloneArchive.remove(jobIds.archive(id, 1));
    await h.runtime.context.queues.clonePoll.remove(jobIds.poll(id, 1));
    const queries = h.sim.stats().queries.total;

    const report = await reconcile(h.runtime.context);
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('succeeded');
    expect((await resultOf(id)).archivedAt).toBeInstanceOf(Date);
    // Straight to the archive: upstream was not asked again.
    expect(h.sim.stats().queries.total).toBe(queries);
  });

  it('fails ARCHIVE_FAILED, dead-lettered from clone-archive, and a redrive stores it without paying again', async () => {
    // Any result is larger than this cap: the download is refused (not retryable).
    await h.restart({ AUDIO_MAX_BYTES: '1024' });
    const { ids } = await h.submit(['Too long for a tiny store.']);
    const id = ids[0] as string;
    const [failed] = await h.waitTerminal(ids);
    expect(failed?.status).toBe('failed');
    expect(failed?.errorCode).toBe('ARCHIVE_FAILED');
    expect(failed?.errorMessage).toMatch(/TOO_LARGE/);
    // Paid for, and said so: the line cost what upstream billed.
    expect(failed?.actualCost).toBeGreaterThan(0);
    const [letter] = await h.db.db.select().from(deadLetters).where(eq(deadLetters.cloneJobId, id));
    expect(letter).toMatchObject({ errorCode: 'ARCHIVE_FAILED', sourceQueue: 'clone-archive' });
    expect((await resultOf(id)).archivedAt).toBeNull();
    const failures = await h.runtime.context.metrics.registry.getSingleMetricAsString(
      'voxline_archive_failures_total',
    );
    expect(failures).toContain('code="TOO_LARGE",outcome="failed"} 1');

    await h.restart({});
    const accepted = h.sim.stats().accepted;
    const chunk = await redriveDeadLetters(h.db.db, { tenantId: h.tenantId, ids: [id], limit: 10 });
    expect(chunk.redriven).toHaveLength(1);
    await enqueue(h.runtime.context.queues, 'cloneSubmit', [
      { jobId: jobIds.submit(id, 2), data: { cloneJobId: id, tenantId: h.tenantId, run: 2 } },
    ]);
    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('succeeded');
    expect(row?.run).toBe(2);
    // No new upstream task: the result of run 1 was archived.
    expect(h.sim.stats().accepted).toBe(accepted);
    const audio = await resultOf(id);
    expect(audio.storageKey).toBe(`${h.tenantId}/${id}-2.wav`);
    expect(audio.upstreamTaskId).toBe(row?.upstreamTaskId);
    const transitions = (
      await listCloneJobEvents(h.db.db, { tenantId: h.tenantId, cloneJobId: id })
    )
      .filter((e) => e.kind === 'transition')
      .map((e) => e.toStatus);
    expect(transitions).toEqual([
      'queued',
      'submitting',
      'running',
      'failed',
      'queued',
      'running',
      'succeeded',
    ]);
    expect(await getCloneJob(h.db.db, { tenantId: h.tenantId, id })).toMatchObject({
      attempts: 1,
    });
  });

  it('retries a failed store as a step of its own, up to ARCHIVE_MAX_ATTEMPTS', async () => {
    await h.restart({ ARCHIVE_MAX_ATTEMPTS: '3' });
    // A file where the tenant's folder goes: every put fails (STORE_FAILED, retryable).
    const tenantDir = join(audioDir(h.redis), h.tenantId);
    await rm(tenantDir, { recursive: true, force: true });
    await writeFile(tenantDir, 'not a folder');
    try {
      const { ids } = await h.submit(['A store that keeps failing.']);
      const [row] = await h.waitTerminal(ids);
      expect(row?.errorCode).toBe('ARCHIVE_FAILED');
      expect(row?.errorMessage).toMatch(/STORE_FAILED, 3 attempt/);
      const failures = await h.runtime.context.metrics.registry.getSingleMetricAsString(
        'voxline_archive_failures_total',
      );
      expect(failures).toContain('code="STORE_FAILED",outcome="retry"} 2');
      expect(failures).toContain('code="STORE_FAILED",outcome="failed"} 1');
    } finally {
      await rm(tenantDir, { force: true });
    }
  });
});
