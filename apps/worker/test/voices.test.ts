import {
  cloneJobs,
  deadLetters,
  listCloneJobEvents,
  redriveDeadLetters,
  restartVoiceClone,
  transitionCloneJob,
  upstreamVoiceIdBase,
  voiceEvents,
  voices,
  webhookEvents,
} from '@voxline/db';
import { enqueue, PRIORITY, submitJob } from '@voxline/queue';
import { encodeUpstreamVoiceId, estimateTaskCost } from '@voxline/runninghub';
import { waitFor } from '@voxline/testing';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepAliveInterval, scheduleMaintenance } from '../src/maintenance-schedule.js';
import { reconcile } from '../src/reconciler.js';
import { keepVoicesAlive } from '../src/voices/keep-alive.js';
import { type Harness, SIM_KEY, startHarness } from './harness.js';
import { cloneTasksOf, createVoice, readVoice, submitSpeech, waitVoice } from './voice-fixtures.js';

describe('voices: clone once, then speech lines', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const voiceEventsOf = async (voiceId: string) =>
    (
      await h.db.db
        .select()
        .from(voiceEvents)
        .where(eq(voiceEvents.voiceId, voiceId))
        .orderBy(voiceEvents.id)
    ).map((e) => e.kind);
  const webhooksOfType = (type: string) =>
    h.db.db.select().from(webhookEvents).where(eq(webhookEvents.type, type));

  it('takes a voice from cloning to ready; its lines speak with exactly its upstream id', async () => {
    const before = h.sim.stats();
    const { voice, cloneJob } = await createVoice(h);
    // Queued while the voice is still cloning: they wait for it.
    const texts = ['The first line.', 'The second line, a little longer.', 'And the third.'];
    const { ids, rows } = await submitSpeech(h, voice.id, texts);
    const done = await h.waitTerminal(ids);
    expect(done.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    const ready = await readVoice(h, voice.id);
    const expectedId = encodeUpstreamVoiceId(upstreamVoiceIdBase(voice.id), cloneJob.id, 1);
    expect(ready).toMatchObject({ status: 'ready', upstreamVoiceId: expectedId, clones: 1 });
    expect(ready.readyAt).toBeInstanceOf(Date);
    expect(ready.expiresAt?.getTime()).toBeGreaterThan(
      Date.now() + h.config.VOICE_UPSTREAM_TTL_MS - 60_000,
    );
    const [clone] = await cloneTasksOf(h, voice.id);
    expect(clone?.status).toBe('succeeded');
    expect(h.sim.task(clone?.upstreamTaskId as string)).toMatchObject({
      kind: 'voice_clone',
      customVoiceId: expectedId,
    });
    for (const row of done) {
      expect(h.sim.task(row.upstreamTaskId as string)).toMatchObject({
        kind: 'speech',
        customVoiceId: expectedId,
        model: 'speech-02-hd',
      });
    }
    const after = h.sim.stats();
    expect(after.cloneSubmits - before.cloneSubmits).toBe(1);
    expect(after.speechSubmits - before.speechSubmits).toBe(3);

    // Cost per line: the estimate written at insert, the actual from usage.consumeMoney.
    for (const row of done) {
      const inserted = rows.find((r) => r.id === row.id);
      expect(row.estimatedCost).toBe(inserted?.estimatedCost);
      expect(row.actualCost).toBeCloseTo(
        estimateTaskCost(h.runtime.context.prices, {
          kind: 'speech',
          model: 'speech-02-hd',
          text: row.request.text,
        }),
        6,
      );
    }
    expect(clone?.actualCost).toBe(3.12);

    expect(await voiceEventsOf(voice.id)).toEqual(['created', 'ready']);
    const readyEvent = (await webhooksOfType('voice.ready')).find(
      (e) => (e.payload.data as { id: string }).id === voice.id,
    );
    expect(readyEvent?.payload).toMatchObject({
      type: 'voice.ready',
      data: {
        id: voice.id,
        object: 'voice',
        status: 'ready',
        upstream_voice_id: expectedId,
        cost: { estimated: 3.12, actual: 3.12, currency: 'CNY' },
        preview: {
          url: expect.stringContaining(`/v1/clones/${voice.cloneJobId}/audio`),
          upstream_url: expect.stringContaining('/files/'),
        },
      },
    });
    // Line events carry the line's kind, voice and cost.
    const lineEvent = (await webhooksOfType('clone.succeeded')).find(
      (e) => e.cloneJobId === ids[0],
    );
    expect(lineEvent?.payload).toMatchObject({
      data: { kind: 'speech', voice_id: voice.id, cost: { currency: 'CNY' } },
    });

    const tasks = await h.runtime.context.metrics.tasks.get();
    const speech = tasks.values.find(
      (v) =>
        v.labels.kind === 'speech' &&
        v.labels.tenant === h.tenantId &&
        v.labels.status === 'succeeded',
    );
    expect(speech?.value).toBeGreaterThanOrEqual(3);
    const cost = await h.runtime.context.metrics.taskCost.get();
    expect(
      cost.values.find(
        (v) =>
          v.labels.kind === 'voice_clone' &&
          v.labels.basis === 'actual' &&
          v.labels.tenant === h.tenantId,
      )?.value,
    ).toBeGreaterThanOrEqual(3.12);
    // The client's request metrics name the speech endpoint apart from the voice clone.
    const requests = await h.runtime.context.metrics.upstreamRequests.get();
    expect(
      requests.values.find((v) => v.labels.endpoint === 'speech' && v.labels.outcome === 'ok')
        ?.value,
    ).toBeGreaterThanOrEqual(3);
    expect(await h.runtime.context.slots.inUse()).toBe(0);
  });

  it('keeps lines waiting for a cloning voice off the upstream slots', async () => {
    // A clone that takes a while, and more waiting lines than there are slots.
    const { voice, cloneJob } = await createVoice(h, {
      previewText: 'A slow preview [[sim:duration=1500]]',
    });
    const { ids } = await submitSpeech(
      h,
      voice.id,
      Array.from({ length: 12 }, (_, i) => `Waiting line ${i}.`),
      { batch: true },
    );
    await waitFor(
      'every line parked on the voice and the clone running upstream',
      async () => {
        const [clone] = await h.jobs([cloneJob.id]);
        const waiting = await h.runtime.context.voiceWaiters.count(voice.id);
        return clone?.status === 'running' && waiting === ids.length ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    // Only the clone holds a slot; no line holds one or even waits for one.
    expect(await h.runtime.context.slots.inUse()).toBe(1);
    expect(await h.runtime.context.slots.waiting()).toBe(0);
    expect((await readVoice(h, voice.id)).status).toBe('cloning');
    const lines = await h.jobs(ids);
    expect(new Set(lines.map((l) => l.status))).toEqual(new Set(['queued']));

    const done = await h.waitTerminal(ids);
    expect(done.every((r) => r.status === 'succeeded')).toBe(true);
    expect(h.sim.stats().inFlight.max[h.sim.keyLabel(SIM_KEY)]).toBeLessThanOrEqual(3);
    expect(await h.runtime.context.voiceWaiters.count(voice.id)).toBe(0);
    expect(await h.runtime.context.slots.inUse()).toBe(0);
  });

  it('fails the waiting lines of a failed clone with its code, and redrives them', async () => {
    h.sim.setScenario({ script: { submit: [{ kind: 'taskFail', code: '2039' }] } });
    const { voice } = await createVoice(h);
    const { ids } = await submitSpeech(h, voice.id, ['One.', 'Two.', 'Three.', 'Four.']);
    const failed = await h.waitTerminal(ids);
    expect(failed.map((r) => [r.status, r.errorCode])).toEqual(ids.map(() => ['failed', '2039']));
    expect(failed.every((r) => r.attempts === 0 && r.errorMessage?.includes(voice.id))).toBe(true);
    const failedVoice = await readVoice(h, voice.id);
    expect(failedVoice).toMatchObject({ status: 'failed', errorCode: '2039' });
    const letters = await h.db.db
      .select()
      .from(deadLetters)
      .where(inArray(deadLetters.cloneJobId, ids));
    expect(letters.map((l) => l.errorCode)).toEqual(ids.map(() => '2039'));
    const failedEvent = (await webhooksOfType('voice.failed')).find(
      (e) => (e.payload.data as { id: string }).id === voice.id,
    );
    expect(failedEvent?.payload).toMatchObject({
      data: { status: 'failed', error: { code: '2039' } },
    });

    // The redrive: the voice is cloned again, then its lines start a new run.
    const restarted = await h.db.db.transaction((tx) =>
      restartVoiceClone(tx, {
        tenantId: h.tenantId,
        voiceId: voice.id,
        from: 'failed',
        reason: 'redrive',
        priority: PRIORITY.interactive,
        estimatedCost: h.runtime.context.prices.voiceClonePerCall,
      }),
    );
    expect(restarted).not.toBeNull();
    await enqueue(h.runtime.context.queues, 'cloneSubmit', [
      submitJob(restarted?.job as NonNullable<typeof restarted>['job']),
    ]);
    const chunk = await redriveDeadLetters(h.db.db, { tenantId: h.tenantId, ids, limit: 100 });
    await enqueue(
      h.runtime.context.queues,
      'cloneSubmit',
      chunk.redriven.map((r) => submitJob(r.job)),
    );
    const redriven = await h.waitTerminal(ids);
    expect(redriven.map((r) => [r.status, r.run])).toEqual(ids.map(() => ['succeeded', 2]));
    const ready = await readVoice(h, voice.id);
    expect(ready).toMatchObject({ status: 'ready', clones: 2, errorCode: null });
    expect(ready.upstreamVoiceId).toBe(
      encodeUpstreamVoiceId(upstreamVoiceIdBase(voice.id), restarted?.job.id as string, 1),
    );
    expect(await voiceEventsOf(voice.id)).toEqual(['created', 'failed', 'reclone', 'ready']);
  });

  it('speaks a system voice by its name, with no clone', async () => {
    const before = h.sim.stats();
    const { ids } = await submitSpeech(h, null, ['A system voice speaks.'], {
      systemVoice: 'Wise_Woman',
      model: 'speech-02-turbo',
    });
    const [row] = await h.waitTerminal(ids);
    expect(row?.status).toBe('succeeded');
    expect(h.sim.task(row?.upstreamTaskId as string)).toMatchObject({
      kind: 'speech',
      customVoiceId: 'Wise_Woman',
      model: 'speech-02-turbo',
    });
    expect(h.sim.stats().cloneSubmits).toBe(before.cloneSubmits);
  });

  it('fails a line of a deleted voice VOICE_DELETED without calling upstream', async () => {
    const { voice } = await createVoice(h);
    await waitVoice(h, voice.id, 'ready');
    await h.db.db.update(voices).set({ deletedAt: new Date() }).where(eq(voices.id, voice.id));
    const before = h.sim.stats().speechSubmits;
    const { ids } = await submitSpeech(h, voice.id, ['Nobody will hear this.']);
    const [row] = await h.waitTerminal(ids);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'VOICE_DELETED' });
    expect(h.sim.stats().speechSubmits).toBe(before);
  });

  it('uploads a voice reference file before its clone and stores the upstream URL', async () => {
    const before = h.sim.stats().uploads;
    const { voice, cloneJob } = await createVoice(h, {
      file: { bytes: wavBytes(), fileName: 'narrator.wav', contentType: 'audio/wav' },
    });
    expect((cloneJob.request as { audio: string }).audio).toBe('');
    const { ids } = await submitSpeech(h, voice.id, ['Spoken from an uploaded reference.']);
    const [line] = await h.waitTerminal(ids);
    expect(line?.status).toBe('succeeded');
    expect((await readVoice(h, voice.id)).status).toBe('ready');
    const [clone] = await h.jobs([cloneJob.id]);
    expect(clone?.request).toMatchObject({ audio: expect.stringMatching(/^http:\/\/.*\/media\//) });
    expect(h.sim.stats().uploads).toBe(before + 1);
  });

  it('settles a voice left cloning after its clone task ended (reconciler)', async () => {
    await h.runtime.context.queues.cloneSubmit.pause();
    try {
      const { voice, cloneJob } = await createVoice(h);
      await transitionCloneJob(h.db.db, {
        tenantId: h.tenantId,
        id: cloneJob.id,
        from: ['queued'],
        to: 'canceled',
      });
      const { ids } = await submitSpeech(h, voice.id, ['Waiting for a clone that ended.']);
      await h.runtime.context.queues.cloneSubmit.resume();
      await waitFor('the line parked on the voice', async () =>
        (await h.runtime.context.voiceWaiters.count(voice.id)) === 1 ? true : undefined,
      );
      const report = await reconcile(h.runtime.context);
      expect(report.voicesRepaired).toBe(1);
      expect((await readVoice(h, voice.id)).errorCode).toBe('CLONE_CANCELED');
      // Woken by the repair, not by its safety delay (a minute).
      const [row] = await h.waitTerminal(ids, 10_000);
      expect(row).toMatchObject({ status: 'failed', errorCode: 'CLONE_CANCELED' });
    } finally {
      await h.runtime.context.queues.cloneSubmit.resume();
    }
  });

  it('records a failed line with no cost and a succeeded one with its actual cost', async () => {
    const { voice } = await createVoice(h);
    await waitVoice(h, voice.id, 'ready');
    const { ids } = await submitSpeech(h, voice.id, [
      'Costs money.',
      'Refused [[sim:submit=1505]]',
    ]);
    const rows = await h.waitTerminal(ids);
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, r]));
    expect(byStatus.succeeded?.actualCost).toBeGreaterThan(0);
    expect(byStatus.failed?.errorCode).toBe('1505');
    expect(byStatus.failed?.actualCost).toBeNull();
    expect(byStatus.failed?.estimatedCost).toBeGreaterThan(0);
    const transitions = await listCloneJobEvents(h.db.db, {
      tenantId: h.tenantId,
      cloneJobId: byStatus.succeeded?.id as string,
    });
    expect(transitions.find((e) => e.toStatus === 'running')?.detail).toMatchObject({
      voiceId: (await readVoice(h, voice.id)).upstreamVoiceId,
    });
    const [clone] = await h.db.db
      .select()
      .from(cloneJobs)
      .where(and(eq(cloneJobs.voiceId, voice.id), eq(cloneJobs.kind, 'voice_clone')));
    expect(clone?.priority).toBe(PRIORITY.interactive);
  });
});

describe('keep-alive of kept voices', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('makes one cheap speech line for a kept voice about to be forgotten, costed', async () => {
    const { voice } = await createVoice(h, { keepAlive: true });
    const { voice: unkept } = await createVoice(h);
    await waitVoice(h, voice.id, 'ready');
    await waitVoice(h, unkept.id, 'ready');
    // Both last used six days and some hours ago: upstream would forget them within the margin.
    const lastUsedAt = new Date(Date.now() - h.config.VOICE_UPSTREAM_TTL_MS + 3_600_000);
    const expiresAt = new Date(lastUsedAt.getTime() + h.config.VOICE_UPSTREAM_TTL_MS);
    await h.db.db
      .update(voices)
      .set({ lastUsedAt, expiresAt })
      .where(inArray(voices.id, [voice.id, unkept.id]));

    const before = h.sim.stats().speechSubmits;
    // Two scans racing, as two schedulers might: one line.
    const made = await Promise.all([
      keepVoicesAlive(h.runtime.context),
      keepVoicesAlive(h.runtime.context),
    ]);
    expect(made[0] + made[1]).toBe(1);
    expect(await keepVoicesAlive(h.runtime.context)).toBe(0);

    const lines = (
      await h.db.db.select().from(cloneJobs).where(eq(cloneJobs.voiceId, voice.id))
    ).filter((r) => r.kind === 'speech');
    expect(lines).toHaveLength(1);
    const [line] = await h.waitTerminal([lines[0]?.id as string]);
    expect(line).toMatchObject({
      status: 'succeeded',
      batchId: null,
      metadata: { keep_alive: true },
      request: { model: 'speech-02-turbo', text: 'Hi.' },
      estimatedCost: 0.00057,
    });
    expect(line?.actualCost).toBeCloseTo(0.00057, 6);
    expect(h.sim.stats().speechSubmits).toBe(before + 1);

    const kept = await readVoice(h, voice.id);
    expect(kept.keepAliveAt).toBeInstanceOf(Date);
    expect(kept.lastUsedAt?.getTime()).toBeGreaterThan(lastUsedAt.getTime());
    expect(kept.expiresAt?.getTime()).toBeGreaterThan(
      Date.now() + h.config.VOICE_UPSTREAM_TTL_MS - 60_000,
    );
    // Its expiry moved a week on: not due again.
    expect(await keepVoicesAlive(h.runtime.context)).toBe(0);
    // A voice nobody marked kept is left to expire.
    expect((await readVoice(h, unkept.id)).keepAliveAt).toBeNull();
  });

  it('runs from the maintenance queue, scheduled beside the reconciler', async () => {
    const { queues } = h.runtime.context;
    await scheduleMaintenance(queues, h.config);
    try {
      const schedulers = await queues.maintenance.getJobSchedulers();
      expect(Object.fromEntries(schedulers.map((s) => [s.key, Number(s.every)]))).toEqual({
        reconcile: h.config.RECONCILE_INTERVAL_MS,
        'keep-alive': keepAliveInterval(h.config),
      });
    } finally {
      await queues.maintenance.removeJobScheduler('reconcile');
      await queues.maintenance.removeJobScheduler('keep-alive');
    }

    const { voice } = await createVoice(h, { keepAlive: true });
    await waitVoice(h, voice.id, 'ready');
    await h.db.db
      .update(voices)
      .set({ expiresAt: new Date(Date.now() + 60_000) })
      .where(eq(voices.id, voice.id));
    await enqueue(queues, 'maintenance', [
      { jobId: 'keep-alive-now', data: { task: 'keep_alive' } },
    ]);
    const line = await waitFor('the keep-alive line', async () => {
      const rows = await h.db.db.select().from(cloneJobs).where(eq(cloneJobs.voiceId, voice.id));
      return rows.find((r) => r.kind === 'speech' && r.status === 'succeeded');
    });
    expect(line.metadata).toEqual({ keep_alive: true });
  });
});

/** A short valid WAV (16 kHz mono 16-bit silence): the simulator sniffs uploads. */
function wavBytes(): Buffer {
  const samples = 1_600;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples * 2, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16_000, 24);
  header.writeUInt32LE(32_000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples * 2, 40);
  return Buffer.concat([header, Buffer.alloc(samples * 2)]);
}
