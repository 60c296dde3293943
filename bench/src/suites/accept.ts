import { performance } from 'node:perf_hooks';
import { newId } from '@voxline/db';
import { catalog, closeQueues, createQueues, createRedis, jobIds, PRIORITY } from '@voxline/queue';
import { Queue } from 'bullmq';
import { type BenchContext, inRun, type RunScope } from '../context.js';
import { type Figure, fmt, type Section, spread, table } from '../report.js';
import { benchTenant, loadBatch, VOICE } from '../services/database.js';
import { runQueues } from '../services/e2e.js';
import { ADMIN_TOKEN, startApiProcess } from '../services/stack.js';
import { narrationLines } from '../util/lines.js';
import { median } from '../util/stats.js';

export interface ApiClient {
  url: string;
  key: string;
}

export async function adminTenant(url: string): Promise<string> {
  const res = await fetch(`${url}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (res.status !== 201) throw new Error(`tenant creation: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { api_key: string }).api_key;
}

/**
 * A batch of one voice-clone call a line: the same rows and jobs as `loadBatch` writes, which
 * the figures compare against (a speech batch would add its voice's clone job to them).
 */
export function batchBody(texts: string[]): string {
  const { audio, custom_voice_id, model } = VOICE;
  return JSON.stringify({
    voice: { audio, custom_voice_id, model },
    per_line_clone: true,
    lines: texts.map((text) => ({ text })),
  });
}

/** POSTs a prepared body; returns the seconds until the 202 and its body arrived. */
export async function postBatch(api: ApiClient, body: string, lines: number): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${api.url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
    body,
  });
  const json = (await res.json()) as { total?: number };
  const seconds = (performance.now() - started) / 1000;
  if (res.status !== 202 || json.total !== lines) {
    throw new Error(
      `POST /v1/batches answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`,
    );
  }
  return seconds;
}

/** Every submit job of the prefix is in Redis and every row in Postgres: the work is accepted. */
async function assertAccepted(ctx: BenchContext, scope: RunScope, expected: number) {
  const connection = createRedis(ctx.redisUrl, 'producer');
  const queues = createQueues(connection, scope.prefix);
  try {
    const counts = await queues.cloneSubmit.getJobCounts('prioritized', 'waiting', 'delayed');
    const queued = Object.values(counts).reduce((a, b) => a + b, 0);
    const { rows } = await ctx.db.pool.query<{ n: string }>(
      `select count(*) as n from clone_jobs where status = 'queued'`,
    );
    if (queued !== expected || Number(rows[0]?.n) !== expected) {
      throw new Error(
        `expected ${expected} jobs, found ${queued} queued in Redis, ${rows[0]?.n} rows`,
      );
    }
  } finally {
    await closeQueues(queues);
    connection.disconnect();
  }
}

function submitJobs(tenantId: string, count: number) {
  return Array.from({ length: count }, () => {
    const id = newId();
    return {
      name: catalog.cloneSubmit.job,
      data: { cloneJobId: id, tenantId, run: 1 },
      opts: {
        ...catalog.cloneSubmit.options,
        priority: PRIORITY.batch,
        jobId: jobIds.submit(id, 1),
      },
    };
  });
}

/** Raw BullMQ: one addBulk per `perCall` jobs of the same payloads and options. */
async function rawAddBulk(ctx: BenchContext, scope: RunScope, total: number, perCall: number) {
  const connection = createRedis(ctx.redisUrl, 'producer');
  const queue = new Queue(catalog.cloneSubmit.queue, { connection, prefix: scope.prefix });
  scope.defer(async () => {
    await queue.close();
    connection.disconnect();
  });
  await queue.waitUntilReady();
  // Warm: the first call loads BullMQ's Lua scripts into the connection.
  await queue.addBulk(submitJobs(newId(), 10));
  const jobs = submitJobs(newId(), total);
  const started = performance.now();
  for (let i = 0; i < jobs.length; i += perCall) await queue.addBulk(jobs.slice(i, i + perCall));
  return (performance.now() - started) / 1000;
}

export async function acceptSuite(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const lines = quick ? 2_000 : 10_000;
  const runs = quick ? 1 : 3;
  const bigRuns = quick ? 1 : 3;
  const requests = 10;
  const texts = narrationLines(lines, { seed: 1 });
  const body = batchBody(texts);
  const bodyBytes = Buffer.byteLength(body);

  const api: number[] = [];
  const raw: number[] = [];
  const commit: number[] = [];
  const enqueueOnly: number[] = [];
  for (let run = 1; run <= runs; run++) {
    ctx.log(`accept: run ${run}/${runs}: ${lines} lines over HTTP`);
    api.push(
      await inRun(ctx, 'accept', async (scope) => {
        const proc = await startApiProcess(scope.target);
        scope.own(proc.child);
        const client = { url: proc.url, key: await adminTenant(proc.url) };
        // Warm-up (JIT, pools, Lua scripts), not timed.
        await postBatch(client, batchBody(narrationLines(500, { seed: 99, tag: 'Warm' })), 500);
        const seconds = await postBatch(client, body, lines);
        await assertAccepted(ctx, scope, lines + 500);
        return seconds;
      }),
    );
    ctx.log(`accept: run ${run}/${runs}: raw addBulk and the API's two steps in-process`);
    raw.push(await inRun(ctx, 'accept-raw', (scope) => rawAddBulk(ctx, scope, lines, lines)));
    await inRun(ctx, 'accept-steps', async (scope) => {
      const queues = runQueues(ctx, scope);
      const tenant = await benchTenant(ctx.db);
      await loadBatch(ctx.db, queues, tenant.id, narrationLines(500, { seed: 99, tag: 'Warm' }));
      const started = Date.now();
      const loaded = await loadBatch(ctx.db, queues, tenant.id, texts);
      commit.push((loaded.committedAt - started) / 1000);
      enqueueOnly.push((loaded.enqueuedAt - loaded.committedAt) / 1000);
    });
  }

  const big: number[] = [];
  const bigRaw: number[] = [];
  const perRequest: number[][] = [];
  for (let run = 1; run <= bigRuns; run++) {
    ctx.log(`accept: run ${run}/${bigRuns}: ${requests * lines} lines in ${requests} requests`);
    big.push(
      await inRun(ctx, 'accept-big', async (scope) => {
        // No worker drains these lines: the tenant must be allowed to hold all of them pending
        // (TENANT_MAX_PENDING_LINES, 100,000 by default, would refuse the last request).
        const proc = await startApiProcess(scope.target, {
          TENANT_MAX_PENDING_LINES: String(requests * lines + 500),
        });
        scope.own(proc.child);
        const client = { url: proc.url, key: await adminTenant(proc.url) };
        await postBatch(client, batchBody(narrationLines(500, { seed: 99, tag: 'Warm' })), 500);
        const bodies = Array.from({ length: requests }, (_, i) =>
          batchBody(narrationLines(lines, { seed: 1000 + i, tag: `R${i + 1} line` })),
        );
        const times: number[] = [];
        for (const b of bodies) times.push(await postBatch(client, b, lines));
        perRequest.push(times);
        await assertAccepted(ctx, scope, requests * lines + 500);
        return times.reduce((a, t) => a + t, 0);
      }),
    );
    bigRaw.push(
      await inRun(ctx, 'accept-big-raw', (scope) =>
        rawAddBulk(ctx, scope, requests * lines, lines),
      ),
    );
  }

  const figures: Figure[] = [
    {
      name: `Accept ${fmt(lines, 0)} lines: POST /v1/batches until 202 (committed and queued)`,
      unit: 's',
      samples: api,
      baseline: { name: `raw addBulk of ${fmt(lines, 0)} jobs`, samples: raw },
      ratio: { label: '× the baseline time' },
    },
    {
      name: `Accept ${fmt(requests * lines, 0)} lines in ${requests} requests (sequential)`,
      unit: 's',
      samples: big,
      baseline: { name: `raw addBulk, ${requests} calls`, samples: bigRaw },
      ratio: { label: '× the baseline time' },
    },
    {
      name: `Lines accepted per second (${fmt(lines, 0)}-line request)`,
      unit: 'lines/s',
      derived: `${fmt(lines, 0)} ÷ the time of the first row, run by run`,
      samples: api.map((s) => lines / s),
      baseline: { name: 'raw addBulk', samples: raw.map((s) => lines / s) },
      ratio: { label: 'of the baseline rate' },
    },
  ];

  const firstLast = perRequest.map((t) => [t[0] ?? Number.NaN, t[t.length - 1] ?? Number.NaN]);
  const medCommit = median(commit);
  const medEnqueue = median(enqueueOnly);
  const medApi = median(api);
  const notes = [
    `Request body: ${fmt(bodyBytes / 1024 / 1024, 2)} MB of JSON for ${fmt(lines, 0)} lines of 40–200 characters.`,
    `**Where the time goes** (medians of the same ${runs} runs; the API's two storage steps
repeated in the bench process with the API's own code: \`insertBatch\` + \`insertCloneJobs\`
in one transaction, then \`enqueue\` in chunks of 1,000):

${table(
  ['Step', 'Seconds', 'Share of the request'],
  [
    [
      'Commit the batch and its lines in Postgres (one transaction)',
      fmt(medCommit, 3),
      `${fmt((100 * medCommit) / medApi, 0)} %`,
    ],
    [
      'Queue the submit jobs (`enqueue`: zod parse + addBulk per 1,000)',
      fmt(medEnqueue, 3),
      `${fmt((100 * medEnqueue) / medApi, 0)} %`,
    ],
    [
      'Everything else: HTTP, JSON parse, zod validation of the body, response',
      fmt(Math.max(0, medApi - medCommit - medEnqueue), 3),
      `${fmt((100 * Math.max(0, medApi - medCommit - medEnqueue)) / medApi, 0)} %`,
    ],
  ],
)}`,
    `Growth: in the ${requests}-request runs the first request took ${firstLast.map(([a]) => fmt(a as number, 2)).join(' / ')} s and the last ${firstLast.map(([, b]) => fmt(b as number, 2)).join(' / ')} s (per run), with ${fmt(requests * lines, 0)} rows and jobs already stored by then.`,
  ];

  return {
    id: 'accept',
    title: '1. Accepting work',
    method: `A spawned API process (\`apps/api/dist/main.js\`, real HTTP on 127.0.0.1) against the bench
database and a fresh queue prefix per run; one untimed 500-line warm-up request, then the timed
request, from sending the body to reading the \`202\`. After each run the bench checks that every
line is a \`queued\` row and a job in Redis. Baseline: BullMQ \`Queue.addBulk\` of the same number of
submit jobs (the payloads and job options the API queues: catalog options, batch priority, job
ids) in one call, from the bench process, on the same Redis.`,
    figures,
    notes,
    headline: [
      `Time to accept a ${fmt(lines, 0)}-line batch (POST /v1/batches until the 202: committed and queued): ${spread(api, 's', 2)}; raw BullMQ addBulk of the same jobs: ${fmt(median(raw), 2)} s.`,
      `${fmt(requests * lines, 0)} lines in ${requests} requests: ${spread(big, 's', 1)}.`,
    ],
  };
}
