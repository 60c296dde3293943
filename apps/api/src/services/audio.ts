import type { IncomingHttpHeaders } from 'node:http';
import { parseRangeHeader, RangeNotSatisfiableError } from '@voxline/audio-store';
import { UUID_PATTERN } from '@voxline/contract';
import { type AudioResult, getCloneJobWithAudio } from '@voxline/db';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { AppContext } from '../context.js';
import { ApiError, errorBody, notFound } from '../errors.js';
import type { Caller } from './clones.js';

/** An archived audio row: its key and what the file was found to be. */
type Archived = AudioResult & { storageKey: string; sha256: string; bytes: number };

/** The clone's stored file, or the error saying why there is none to serve. */
async function archivedAudio(ctx: AppContext, caller: Caller, id: string): Promise<Archived> {
  if (!UUID_PATTERN.test(id)) throw notFound('clone');
  const found = await getCloneJobWithAudio(ctx.db, { tenantId: caller.tenantId, id });
  if (!found) throw notFound('clone');
  const { audio } = found;
  if (audio?.purgedAt) {
    throw new ApiError(
      410,
      'audio_purged',
      `the stored audio was removed on ${audio.purgedAt.toISOString()} (AUDIO_RETENTION_DAYS)`,
    );
  }
  if (!audio?.archivedAt || !audio.storageKey || !audio.sha256 || audio.bytes === null) {
    throw new ApiError(
      404,
      'audio_not_archived',
      found.job.status === 'succeeded' || audio
        ? 'this clone has no stored audio (it finished before the audio store, or is being stored)'
        : `this clone has no audio yet (it is ${found.job.status})`,
      { status: found.job.status },
    );
  }
  return audio as Archived;
}

/** Whether an If-None-Match / If-Range value names this entity tag (weak or strong, or `*`). */
function matchesEtag(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

function extensionOf(key: string): string {
  const dot = key.lastIndexOf('.');
  return dot > key.lastIndexOf('/') ? key.slice(dot + 1) : 'bin';
}

/**
 * `GET /v1/clones/:id/audio`: the stored file, streamed (never held in memory), with its
 * SHA-256 as the strong ETag. One byte range at a time (`Range`, honoured only when an
 * `If-Range` names this ETag or is absent); `?redirect=true` with an S3 store answers a
 * presigned URL instead, so the bytes come from S3 itself.
 */
export async function sendCloneAudio(
  ctx: AppContext,
  caller: Caller,
  request: { id: string; redirect: boolean; headers: IncomingHttpHeaders; log: FastifyBaseLogger },
  reply: FastifyReply,
): Promise<FastifyReply> {
  const audio = await archivedAudio(ctx, caller, request.id);
  const etag = `"${audio.sha256}"`;
  const contentType = audio.contentType ?? 'application/octet-stream';
  const fileName = `${request.id}.${extensionOf(audio.storageKey)}`;
  reply.header('etag', etag).header('cache-control', 'private, no-cache');

  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && matchesEtag(ifNoneMatch, etag)) return reply.status(304).send();

  if (request.redirect && ctx.audioStore.kind === 's3') {
    const url = await ctx.audioStore.presign(audio.storageKey, {
      expiresInSeconds: ctx.config.AUDIO_PRESIGN_TTL_S,
      contentType,
      fileName,
    });
    // The link is a bearer credential for a while: no cache may keep it.
    if (url) return reply.header('cache-control', 'no-store').redirect(url, 302);
  }

  const ifRange = [request.headers['if-range']].flat()[0];
  const rangeHeader = ifRange && !matchesEtag(ifRange, etag) ? undefined : request.headers.range;
  const range = parseRangeHeader(rangeHeader, audio.bytes);
  if (range === 'unsatisfiable') return unsatisfiable(reply, audio.bytes);
  let object: Awaited<ReturnType<typeof ctx.audioStore.get>>;
  try {
    object = await ctx.audioStore.get(audio.storageKey, range ?? undefined);
  } catch (error) {
    if (error instanceof RangeNotSatisfiableError) return unsatisfiable(reply, error.totalBytes);
    throw error;
  }
  if (!object) {
    // The row says archived and the store has nothing: someone removed the file by hand.
    request.log.error(
      { cloneJobId: request.id, key: audio.storageKey, store: ctx.audioStore.location },
      'archived audio missing from the store',
    );
    throw new ApiError(404, 'audio_missing', 'the stored audio file is missing from the store');
  }
  reply
    .header('content-type', contentType)
    .header('content-length', String(object.bytes))
    .header('accept-ranges', 'bytes')
    .header('content-disposition', `inline; filename="${fileName}"`);
  if (object.range) {
    reply
      .status(206)
      .header(
        'content-range',
        `bytes ${object.range.start}-${object.range.end}/${object.totalBytes}`,
      );
  }
  return reply.send(object.body);
}

function unsatisfiable(reply: FastifyReply, totalBytes: number): FastifyReply {
  return reply
    .status(416)
    .header('content-range', `bytes */${totalBytes}`)
    .header('accept-ranges', 'bytes')
    .send(errorBody('range_not_satisfiable', `the audio has ${totalBytes} bytes`));
}
