import { ArchiveError, archiveFromUrl } from '@voxline/audio-store';
import {
  type ArchivedFile,
  type AudioResult,
  type CloneJob,
  getCloneJobWithResult,
} from '@voxline/db';
import { catalog, type ParsedPayloadOf } from '@voxline/queue';
import type { WorkerContext } from '../context.js';
import { backoffDelay } from '../step.js';
import { delay, done, fail, type StepOutcome } from '../step-outcome.js';
import { recordFailure } from './outcomes.js';

type ArchivePayload = ParsedPayloadOf<'cloneArchive'>;

const EXTENSION = /^[a-z0-9]{1,8}$/;

/**
 * `<tenant>/<line>-<run>.<ext>`: one file per run, so a redrive that had to pay for a new
 * result never overwrites what an earlier run stored. The extension is the one upstream gave.
 */
export function storageKey(job: Pick<CloneJob, 'id' | 'tenantId' | 'run'>, result: AudioResult) {
  const fromPath = /\.([A-Za-z0-9]+)$/.exec(safePath(result.url))?.[1]?.toLowerCase();
  const ext = [result.outputType?.toLowerCase(), fromPath].find((e) => e && EXTENSION.test(e));
  return `${job.tenantId}/${job.id}-${job.run}.${ext ?? 'audio'}`;
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

/**
 * The archive step: copies a running line's result into the audio store (streamed, capped,
 * guarded), records what the stored file is, then ends the line `succeeded` as a poll used to.
 * A download that may work later backs off as a step of its own, up to ARCHIVE_MAX_ATTEMPTS;
 * one that cannot, or the last, fails the line ARCHIVE_FAILED, redrivable without paying
 * upstream again while its link lives. The file is recorded on the result row by the
 * transaction that ends the line (SuccessRecorder): a crash in between stores it again under the
 * same key, and a row that already has its file is not downloaded again.
 */
export async function archiveStep(
  ctx: WorkerContext,
  bullJobId: string,
  data: ArchivePayload,
): Promise<StepOutcome> {
  const line = await getCloneJobWithResult(ctx.db, {
    tenantId: data.tenantId,
    id: data.cloneJobId,
  });
  // Gone, finished, canceled meanwhile, or a job of an earlier run: nothing to do.
  if (!line || line.job.run !== data.run || line.job.status !== 'running') return done;
  const { job, result } = line;
  if (!result || result.upstreamTaskId !== job.upstreamTaskId) {
    ctx.logger.warn({ jobId: job.id }, 'archive step for a line without its result; left to poll');
    return done;
  }
  let file: ArchivedFile | null = null;
  if (!result.archivedAt) {
    const started = performance.now();
    try {
      file = await archiveFromUrl(
        ctx.audio.store,
        storageKey(job, result),
        result.url,
        ctx.audio.options,
      );
    } catch (error) {
      // Anything else (our own shutdown's abort, a database outage) is left to BullMQ's retries.
      if (!(error instanceof ArchiveError)) throw error;
      return archiveFailed(ctx, job, bullJobId, data, error);
    }
    ctx.metrics.archiveDuration.observe((performance.now() - started) / 1000);
    ctx.metrics.archiveBytes.inc(file.bytes);
  }
  await ctx.successes.record({ job, result, file });
  return done;
}

async function archiveFailed(
  ctx: WorkerContext,
  job: CloneJob,
  bullJobId: string,
  data: ArchivePayload,
  error: ArchiveError,
): Promise<StepOutcome> {
  const archiveErrors = data.archiveErrors + 1;
  const log = ctx.logger.child({ jobId: job.id, batchId: job.batchId, tenantId: job.tenantId });
  if (error.retryable && archiveErrors < ctx.config.ARCHIVE_MAX_ATTEMPTS) {
    ctx.metrics.archiveFailures.inc({ code: error.code, outcome: 'retry' });
    log.warn({ code: error.code, archiveErrors }, `archive failed, retrying: ${error.message}`);
    return delay(
      backoffDelay(archiveErrors, ctx.config.RETRY_BASE_DELAY_MS, ctx.config.RETRY_MAX_DELAY_MS),
      { ...data, archiveErrors },
    );
  }
  ctx.metrics.archiveFailures.inc({ code: error.code, outcome: 'failed' });
  // The message carries the link without its query string (its signature): see ArchiveError.
  const message = `could not store the result (${error.code}, ${archiveErrors} attempt(s)): ${error.message}`;
  await recordFailure(
    ctx,
    job,
    ['running'],
    { code: 'ARCHIVE_FAILED', message, lastResponse: { archiveError: error.code, url: error.url } },
    { queue: catalog.cloneArchive.queue, jobId: bullJobId, attempts: job.attempts },
  );
  return fail('ARCHIVE_FAILED', message);
}
