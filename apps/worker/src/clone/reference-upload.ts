import { getVoiceReference, setCloneRequestAudio } from '@voxline/db';
import { catalog, type ParsedPayloadOf } from '@voxline/queue';
import { isRunningHubError, type RunningHubClient } from '@voxline/runninghub';
import type { WorkerContext } from '../context.js';
import { backoffDelay } from '../step.js';
import { delay, done, fail } from '../step-outcome.js';
import { recordFailure } from './outcomes.js';
import type { Prepared } from './prepare.js';
import type { VoiceCloneJob } from './task-kinds.js';

/**
 * The clone task of a voice whose reference was uploaded as a file (`audio` is ""): the stored
 * bytes go to upstream's upload endpoint first, and the download_url is written into the
 * task's request, so this submit and any retry of it send that URL. Each clone task (a re-clone
 * is a new one) uploads afresh: upstream's upload links are not known to last a week. A failed
 * upload is retried with backoff (uploads are not billed: no attempt is spent), up to
 * SUBMIT_MAX_ATTEMPTS times, then the task fails, and its voice with it. `client` is the account
 * the clone runs on: an upload is that key's.
 */
export async function uploadReference(
  ctx: WorkerContext,
  client: RunningHubClient,
  job: VoiceCloneJob & { voiceId: string },
  data: ParsedPayloadOf<'cloneSubmit'>,
  bullJobId: string,
): Promise<Prepared> {
  const source = { queue: catalog.cloneSubmit.queue, jobId: bullJobId, attempts: job.attempts };
  const reference = await getVoiceReference(ctx.db, {
    tenantId: job.tenantId,
    voiceId: job.voiceId,
  });
  if (!reference) {
    const failure = {
      code: 'VOICE_REFERENCE_MISSING',
      message: `voice ${job.voiceId} has neither a reference URL nor a stored file`,
    };
    await recordFailure(ctx, job, ['queued'], failure, source);
    return { kind: 'outcome', outcome: fail(failure.code, failure.message) };
  }
  let downloadUrl: string;
  try {
    ({ downloadUrl } = await client.uploadMedia(
      reference.bytes,
      reference.fileName,
      reference.contentType,
    ));
  } catch (error) {
    if (!isRunningHubError(error)) throw error;
    const uploadErrors = (data.uploadErrors ?? 0) + 1;
    if (error.kind === 'fatal' || uploadErrors >= ctx.config.SUBMIT_MAX_ATTEMPTS) {
      const failure = {
        code: error.code ?? 'UPLOAD_FAILED',
        message: `uploading the reference failed: ${error.message}`,
        lastResponse: error.raw,
      };
      await recordFailure(ctx, job, ['queued'], failure, source);
      return { kind: 'outcome', outcome: fail(failure.code, failure.message) };
    }
    const wait = Math.max(
      error.retryAfterMs ?? 0,
      backoffDelay(uploadErrors, ctx.config.RETRY_BASE_DELAY_MS, ctx.config.RETRY_MAX_DELAY_MS),
    );
    return { kind: 'outcome', outcome: delay(wait, { ...data, uploadErrors }) };
  }
  const updated = await setCloneRequestAudio(ctx.db, {
    tenantId: job.tenantId,
    id: job.id,
    audio: downloadUrl,
  });
  // No longer queued (canceled meanwhile): nothing to submit.
  if (!updated) return { kind: 'outcome', outcome: done };
  return { kind: 'ready', job: updated, voiceId: null, voxlineVoice: false };
}
