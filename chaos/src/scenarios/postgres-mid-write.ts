import { closeQueues, createQueues } from '@voxline/queue';
import { waitFor } from '@voxline/testing/wait';
import type { HttpResponse } from '../infra/http.js';
import { type Check, check } from '../observe.js';
import { AUDIO_URL, type Stack, type Tenant, VOICE_ID } from '../stack.js';

// Marks the batch sent into the outage, so that its rows can be found whatever the answer was.
const PROBE = 'sent while Postgres stops';

/** A `POST /v1/batches` caught inside its transaction, and the lock that holds it there. */
export interface BatchMidWrite {
  lines: number;
  /** The API's answer, or the client's error, once it comes. */
  answer: Promise<HttpResponse | Error>;
  /** How long the request had been sent when its insert was seen waiting. */
  caughtAfterMs: number;
}

/**
 * Sends a batch and holds it inside the API's transaction: the observer locks `clone_jobs`
 * (EXCLUSIVE: reads pass, inserts wait), so the request authenticates, writes its batch row and
 * then waits on its insert of the lines, which `pg_stat_activity` shows. Postgres can then be
 * stopped with the handler provably half-way through its writes, on every run.
 */
export async function holdBatchMidWrite(
  stack: Stack,
  tenant: Tenant,
  lines: number,
): Promise<{ midWrite: BatchMidWrite; releaseLock: () => void }> {
  const lock = await stack.db.pool.connect();
  // The stop ends this connection; without a listener its error would crash the run.
  lock.on('error', () => {});
  await lock.query('begin');
  await lock.query('lock table clone_jobs in exclusive mode');
  const sent = Date.now();
  const answer = stack.http
    .call('POST', '/v1/batches', {
      key: tenant.key,
      body: {
        voice: { audio: AUDIO_URL, custom_voice_id: VOICE_ID },
        per_line_clone: true,
        lines: Array.from({ length: lines }, (_, i) => ({ text: `Mid-write line ${i + 1}.` })),
        metadata: { probe: PROBE },
      },
    })
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  try {
    await waitFor(
      'the batch insert to wait on the lock',
      async () => {
        // The API's bulk insert is raw SQL that starts with a line break.
        const { rows } = await stack.db.pool.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
            where wait_event_type = 'Lock' and query ~* '^\\s*insert into "clone_jobs"'`,
        );
        return Number(rows[0]?.n ?? 0) > 0;
      },
      { timeoutMs: 15_000, intervalMs: 10 },
    );
  } catch (error) {
    // A lock left held would stall the workers, and the pool's end, for good.
    await lock.query('rollback').catch(() => {});
    lock.release();
    throw error;
  }
  return {
    midWrite: { lines, answer, caughtAfterMs: Date.now() - sent },
    // Destroyed, not returned to the pool: the stop has broken it.
    releaseLock: () => lock.release(true),
  };
}

/** Jobs in the clone queues whose line is not in the database (a write that half happened). */
async function queuedWithoutRow(stack: Stack): Promise<{ checked: number; orphans: string[] }> {
  const queues = createQueues(stack.redis, stack.prefix);
  try {
    const jobs = [
      ...(await queues.cloneSubmit.getJobs()),
      ...(await queues.clonePoll.getJobs()),
    ].filter((job) => job !== undefined);
    const ids = [...new Set(jobs.map((job) => String(job.data?.cloneJobId ?? job.id)))];
    if (ids.length === 0) return { checked: 0, orphans: [] };
    const { rows } = await stack.db.pool.query<{ id: string }>(
      'select id::text from clone_jobs where id::text = any($1)',
      [ids],
    );
    const known = new Set(rows.map((r) => r.id));
    return { checked: ids.length, orphans: ids.filter((id) => !known.has(id)) };
  } finally {
    await closeQueues(queues);
  }
}

/**
 * Once Postgres is back: the batch caught mid-write either failed cleanly (a 5xx with the JSON
 * error, no batch row, no line, nothing queued) or was accepted whole (202, every line there).
 * Returns the lines it added, for the count of lines the run must finish.
 */
export async function midWriteChecks(
  stack: Stack,
  midWrite: BatchMidWrite,
): Promise<{ checks: Check[]; acceptedLines: number; answer: string }> {
  const answer = await midWrite.answer;
  const status = answer instanceof Error ? null : answer.status;
  const code =
    answer instanceof Error
      ? null
      : ((answer.json as { error?: { code?: unknown } } | undefined)?.error?.code ?? null);
  const { rows } = await stack.db.pool.query<{ batches: string; lines: string }>(
    `select count(distinct b.id) as batches, count(j.id) as lines
       from batches b left join clone_jobs j on j.batch_id = b.id
      where b.metadata->>'probe' = $1`,
    [PROBE],
  );
  const batches = Number(rows[0]?.batches ?? 0);
  const lines = Number(rows[0]?.lines ?? 0);
  const { checked, orphans } = await queuedWithoutRow(stack);
  const described =
    answer instanceof Error
      ? `no answer (${answer.message})`
      : `${status} ${answer.text.slice(0, 160)}`;
  const accepted = status === 202;
  const failedCleanly = status !== null && status >= 500 && typeof code === 'string';
  return {
    acceptedLines: accepted ? lines : 0,
    answer: described,
    checks: [
      check(
        'a batch caught mid-write by the outage failed with a JSON 5xx or was accepted whole',
        accepted || failedCleanly,
        `${described} (caught ${midWrite.caughtAfterMs} ms after sending)`,
      ),
      check(
        'nothing of it is half-written: no row if refused, every line if accepted',
        accepted ? batches === 1 && lines === midWrite.lines : batches === 0 && lines === 0,
        `${batches} batch rows, ${lines} of ${midWrite.lines} lines`,
      ),
      check(
        'nothing is queued for a line the database does not hold',
        orphans.length === 0,
        orphans.length
          ? `${orphans.length} of ${checked} jobs, e.g. ${orphans[0]}`
          : `${checked} queued jobs, each with its row`,
      ),
    ],
  };
}
