import {
  type ArchivedFile,
  type AudioResult,
  type CloneJob,
  setArchivedAudios,
  touchVoice,
  transitionCloneJobs,
} from '@voxline/db';
import { recordCloneEvents } from '@voxline/webhooks';
import DataLoader from 'dataloader';
import type { WorkerContext } from '../context.js';
import {
  announceSettledVoice,
  type SettledVoice,
  voiceCloneSucceeded,
} from '../voices/clone-outcome.js';
import { afterTerminal, countTask } from './outcomes.js';

// A voice's last use is written at most this often: a 10,000-line batch in one voice would
// otherwise rewrite its row 10,000 times, and upstream's 7 days do not need that precision.
const VOICE_TOUCH_THROTTLE_MS = 60_000;

// The most lines one success transaction takes: enough to amortise its round trips, few enough
// that its row locks and its statements stay short.
const MAX_GROUP = 100;

/** A running line whose result is stored: what its success needs. */
export interface Success {
  job: CloneJob;
  /** Its result row as read before the archive step. */
  result: AudioResult;
  /** The file the step just stored, recorded on the row in the same transaction; null when the row has one. */
  file: ArchivedFile | null;
}

interface Committed {
  done: CloneJob[];
  deliveries: string[];
  voices: Array<SettledVoice | null>;
}

/**
 * Marks lines succeeded in groups: every archive step of the process that finishes while a
 * success transaction is in flight joins the next one, so under load a line costs a share of
 * one transaction instead of its six round trips (and its wait for a pool connection), and at
 * rest a line commits at once, alone. DataLoader does the grouping; a group runs when the one
 * before it has ended.
 */
export class SuccessRecorder {
  readonly #loader: DataLoader<Success, boolean>;
  #inFlight: Promise<unknown> | null = null;

  constructor(context: () => WorkerContext) {
    this.#loader = new DataLoader(
      (group) => {
        const run = commitGroup(context(), group);
        this.#inFlight = run;
        void run.finally(() => {
          if (this.#inFlight === run) this.#inFlight = null;
        });
        return run;
      },
      {
        cache: false,
        maxBatchSize: MAX_GROUP,
        batchScheduleFn: (dispatch) => {
          const busy = this.#inFlight;
          if (busy) void busy.then(dispatch, dispatch);
          // The I/O callbacks of this turn of the loop may finish other steps: they join.
          else setImmediate(dispatch);
        },
      },
    );
  }

  /**
   * Marks `success.job` succeeded once its group has committed, with its `clone.succeeded`
   * event; false if it was no longer running. Rejects if its transaction failed (nothing of it
   * was written) or if what follows the commit did (webhooks, the batch's end: the reconciler
   * repeats those).
   */
  record(success: Success): Promise<boolean> {
    return this.#loader.load(success);
  }
}

async function commitGroup(
  ctx: WorkerContext,
  group: readonly Success[],
): Promise<Array<boolean | Error>> {
  let committed: Committed;
  try {
    committed = await commitSuccesses(ctx, group);
  } catch (error) {
    if (group.length === 1) return [asError(error)];
    // A row one line cannot write must not fail the others: each goes again on its own.
    return Promise.all(group.map(async (s) => (await commitGroup(ctx, [s]))[0] as boolean | Error));
  }
  ctx.metrics.successGroupSize.observe(group.length);
  try {
    await afterSuccesses(ctx, committed);
  } catch (error) {
    return group.map(() => asError(error));
  }
  const done = new Set(committed.done.map((job) => job.id));
  return group.map((s) => done.has(s.job.id));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * One transaction for the group: the stored files recorded on their rows (whatever became of
 * the line since, so that a file is never left unaccounted for), each tenant's running lines
 * moved to succeeded with their task ids in the event log, their `clone.succeeded` events,
 * and the voices whose clone task this was made ready.
 */
async function commitSuccesses(ctx: WorkerContext, group: readonly Success[]): Promise<Committed> {
  return ctx.db.transaction(async (tx) => {
    const archived = await setArchivedAudios(
      tx,
      group.flatMap(({ job, file }) =>
        file ? [{ tenantId: job.tenantId, cloneJobId: job.id, file }] : [],
      ),
    );
    const audio = new Map(group.map((s) => [s.job.id, s.result]));
    for (const row of archived) audio.set(row.cloneJobId, row);

    const done: CloneJob[] = [];
    for (const [tenantId, jobs] of byTenant(group.map((s) => s.job))) {
      done.push(
        ...(await transitionCloneJobs(tx, {
          tenantId,
          target: { ids: jobs.map((job) => job.id) },
          from: ['running'],
          to: 'succeeded',
          set: { errorCode: null, errorMessage: null },
          detailById: new Map(jobs.map((job) => [job.id, { taskId: job.upstreamTaskId }])),
        })),
      );
    }
    const deliveries = await recordCloneEvents(tx, done, ctx.cloneEvents, audio);
    const voices: Array<SettledVoice | null> = [];
    for (const job of done) voices.push(await voiceCloneSucceeded(tx, ctx, job));
    return { done, deliveries, voices };
  });
}

// transitionCloneJobs moves one tenant's lines at a time.
function byTenant(jobs: CloneJob[]): Map<string, CloneJob[]> {
  const groups = new Map<string, CloneJob[]>();
  for (const job of jobs) {
    const same = groups.get(job.tenantId);
    if (same) same.push(job);
    else groups.set(job.tenantId, [job]);
  }
  return groups;
}

/** After the commit: metrics, voices announced and kept alive, webhooks, finished batches. */
async function afterSuccesses(ctx: WorkerContext, committed: Committed): Promise<void> {
  for (const job of committed.done) {
    ctx.metrics.cloneOutcomes.inc({ status: 'succeeded', code: '' });
    countTask(ctx, job, 'succeeded');
  }
  for (const voice of committed.voices) await announceSettledVoice(ctx, voice);
  const spoken = new Map<string, { tenantId: string; voiceId: string }>();
  for (const job of committed.done) {
    if (job.kind === 'speech' && job.voiceId) {
      spoken.set(job.voiceId, { tenantId: job.tenantId, voiceId: job.voiceId });
    }
  }
  for (const voice of spoken.values()) {
    await touchVoice(ctx.db, {
      ...voice,
      ttlMs: ctx.config.VOICE_UPSTREAM_TTL_MS,
      throttleMs: VOICE_TOUCH_THROTTLE_MS,
    });
  }
  await afterTerminal(ctx, committed.done, committed.deliveries);
}
