import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAudioResult, listCloneJobEvents, newId } from '@voxline/db';
import { noteCallback } from '@voxline/queue';
import { assertBuilt, freePort, type NodeProcess, startApi, waitFor } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollDelay } from '../src/clone/poll-delay.js';
import { fastEnv, type Harness, startHarness, voice } from './harness.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
// Upstream links die after this: longer than a stretched poll takes to find a task whose
// callback was lost (2 × POLL_MIN × STRETCH), or its archive would find the link dead.
const LINK_TTL_MS = 8_000;
// Without a callback, a task's first query waits for the schedule: at least this long.
const POLL_MIN_MS = 1_000;
const STRETCH = 3;

// The API's callback route (its own process, as deployed) and the worker's half: tokens, the
// promoted poll, the stretched schedule; and the stored audio served once upstream's links died.
describe('callbacks through the API, and audio served after upstream links expired', () => {
  let h: Harness;
  let api: NodeProcess | undefined;
  let apiUrl: string;
  let logDir: string | undefined;

  beforeAll(async () => {
    // The producer API as its own process (built dist): apps do not import each other.
    assertBuilt(['api']);
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const env = {
      POLL_MIN_INTERVAL_MS: String(POLL_MIN_MS),
      POLL_MAX_INTERVAL_MS: String(POLL_MIN_MS * 2),
      RUNNINGHUB_CALLBACK_BASE_URL: apiUrl,
      CALLBACK_POLL_STRETCH: String(STRETCH),
    };
    h = await startHarness({ sim: { linkTtlMs: LINK_TTL_MS }, env });
    logDir = await mkdtemp(join(tmpdir(), 'voxline-callbacks-api-'));
    api = await startApi({
      name: 'api',
      env: {
        ...fastEnv(h.db, h.redis, { ...env, HOST: '127.0.0.1', PORT: String(port) }),
        LOG_LEVEL: 'error',
      },
      logFile: join(logDir, 'api.log'),
    });
  });
  afterAll(async () => {
    await api?.stop('SIGTERM');
    await h?.close();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${h.apiKey}`, ...headers } });

  it('records each result right after its task ends, with one query, by a token stored hashed', async () => {
    const { ids } = await h.submit(['One.', 'Two.', 'Three.']);
    const rows = await h.waitTerminal(ids, 20_000);
    for (const row of rows) {
      expect(row.status).toBe('succeeded');
      const task = h.sim.task(row.upstreamTaskId as string);
      // One query: the one the callback woke, which confirmed the result.
      expect(task?.queries).toBe(1);
      // Well before the schedule's first query (2 × POLL_MIN without an estimate).
      expect(row.completedAt?.getTime()).toBeLessThan((task?.finishedAt as number) + POLL_MIN_MS);
      expect(row.callbackTokenHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(new Set(rows.map((r) => r.callbackTokenHash)).size).toBe(rows.length);
    expect(h.sim.stats().callbacks.delivered).toBe(3);
    const polls =
      await h.runtime.context.metrics.registry.getSingleMetricAsString('voxline_polls_total');
    expect(polls).toContain('trigger="callback"} 3');
  });

  it('catches a lost callback with a poll, on the schedule stretched by the callbacks before', async () => {
    h.sim.setScenario({ script: { submit: ['callbackLost'] } });
    const { ids } = await h.submit(['A callback that never comes.']);
    const [row] = await h.waitTerminal(ids, 30_000);
    expect(row?.status, row?.errorMessage ?? '').toBe('succeeded');
    expect(h.sim.stats().callbacks.lost).toBe(1);
    expect(h.sim.task(row?.upstreamTaskId as string)?.queries).toBeGreaterThanOrEqual(1);
    const events = await listCloneJobEvents(h.db.db, {
      tenantId: h.tenantId,
      cloneJobId: row?.id as string,
    });
    const received = events.find((e) => e.kind === 'result_received')?.createdAt.getTime() ?? 0;
    // Callbacks came for this kind and model: the first query waited STRETCH times the shortest.
    expect(received - (row?.submittedAt?.getTime() ?? 0)).toBeGreaterThanOrEqual(
      POLL_MIN_MS * STRETCH * 0.9,
    );
    const polls =
      await h.runtime.context.metrics.registry.getSingleMetricAsString('voxline_polls_total');
    expect(polls).toMatch(/trigger="schedule"} [1-9]/);
  });

  it('promotes the first poll itself when the callback came before the poll job existed', async () => {
    // The route found no poll job to promote, and left only its flag (noteCallback); the
    // task's own callback is lost, so only the submit step can have promoted the poll.
    h.sim.setScenario({ script: { submit: ['callbackLost'] } });
    const id = newId();
    await noteCallback(h.runtime.context.redis, h.config.QUEUE_PREFIX, {
      cloneJobId: id,
      run: 1,
      kind: 'voice_clone',
      model: voice.model,
    });
    const submitted = Date.now();
    await h.submit(['Called back before the poll.'], { ids: [id] });
    // Callbacks came for this kind and model: unpromoted, the first query would wait a
    // stretched delay (at least POLL_MIN × STRETCH).
    await waitFor(
      'the first query of the task',
      async () => {
        const [row] = await h.jobs([id]);
        const task = row?.upstreamTaskId ? h.sim.task(row.upstreamTaskId) : null;
        return task && task.queries >= 1 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    expect(Date.now() - submitted).toBeLessThan(POLL_MIN_MS * STRETCH);
    await h.waitTerminal([id], 20_000);
  });

  it('stretches the poll schedule while callbacks come for the kind and model, not after', async () => {
    const [row] = await h.jobs([(await h.submit(['Schedule probe.'])).ids[0] as string]);
    await h.waitTerminal([row?.id as string]);
    const job = row as NonNullable<typeof row>;
    const ctx = h.runtime.context;
    const estimate = await ctx.schedule.estimate({
      kind: job.kind,
      model: job.request.model,
      textLength: job.request.text.length,
    });
    const adaptive = ctx.schedule.nextDelay(estimate, 0);
    expect(await pollDelay(ctx, job, 0)).toBe(adaptive * STRETCH);
    // Never past the poll deadline.
    const late = ctx.config.POLL_DEADLINE_MS - 10;
    expect(await pollDelay(ctx, job, late)).toBe(POLL_MIN_MS);
    // The last callback for this kind and model came before the trust window: adaptive again.
    await noteCallback(ctx.redis, h.config.QUEUE_PREFIX, {
      cloneJobId: job.id,
      run: job.run,
      kind: job.kind,
      model: job.request.model,
      at: Date.now() - ctx.config.CALLBACK_TRUST_WINDOW_MS - 1,
    });
    expect(await pollDelay(ctx, job, 0)).toBe(adaptive);
  });

  it('serves the stored file byte-exact, with ranges, once upstream links have expired', async () => {
    const { ids } = await h.submit(['Still here on Sunday.']);
    const [row] = await h.waitTerminal(ids, 20_000);
    const id = row?.id as string;
    const audio = await getAudioResult(h.db.db, { tenantId: h.tenantId, cloneJobId: id });
    await waitFor(
      'the upstream link to expire',
      async () => ((await fetch(audio?.url as string)).status !== 200 ? true : undefined),
      { timeoutMs: LINK_TTL_MS * 3, intervalMs: 200 },
    );

    const clone = (await (await get(`/v1/clones/${id}`)).json()) as {
      audio: { url: string; upstream_url: string; sha256: string };
    };
    expect(clone.audio.url).toBe(`${apiUrl}/v1/clones/${id}/audio`);
    expect(clone.audio.upstream_url).toBe(audio?.url);

    const whole = await get(`/v1/clones/${id}/audio`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toBe(`"${audio?.sha256}"`);
    const bytes = Buffer.from(await whole.arrayBuffer());
    expect(sha256(bytes)).toBe(audio?.sha256);
    expect(bytes.length).toBe(audio?.bytes);

    const part = await get(`/v1/clones/${id}/audio`, { range: 'bytes=0-99' });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 100));
  });

  it('answers a forged callback 404 and changes nothing', async () => {
    const queries = h.sim.stats().queries.total;
    const res = await fetch(`${apiUrl}/callbacks/runninghub/not-a-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'TASK_END', taskId: '1', eventData: '{}' }),
    });
    expect(res.status).toBe(404);
    expect(h.sim.stats().queries.total).toBe(queries);
  });
});
