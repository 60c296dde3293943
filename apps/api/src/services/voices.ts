import {
  type CreateVoiceBody,
  type PatchVoiceBody,
  UUID_PATTERN,
  type VoiceResource,
  voiceResource,
} from '@voxline/contract';
import {
  createVoiceWithClone,
  findVoiceByIdempotencyKey,
  getVoiceView,
  listVoices,
  newId,
  softDeleteVoice,
  updateVoice,
  type Voice,
  type VoiceView,
  viewOfVoice,
  viewsOfVoices,
} from '@voxline/db';
import { PRIORITY } from '@voxline/queue';
import { estimateTaskCost } from '@voxline/runninghub';
import type { AppContext } from '../context.js';
import { ApiError, isUniqueViolation, notFound, validationError } from '../errors.js';
import { type Caller, idempotencyConflict } from './clones.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { enqueueSubmits } from './enqueue.js';
import { type Accepted, requestHash } from './idempotency.js';
import { checkTargets, targetCheckOptions } from './targets.js';
import { cloneSettings, voiceSettingsHash } from './voice-settings.js';
import type { VoiceUpload } from './voice-upload.js';

const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_PATTERN.test(v);

function resourceOf(ctx: AppContext, view: VoiceView): VoiceResource {
  return voiceResource(view.voice, view, { baseUrl: ctx.baseUrl });
}

async function replayVoice(ctx: AppContext, existing: Voice, hash: string) {
  if (existing.requestHash !== hash) throw idempotencyConflict();
  return { replayed: true, resource: resourceOf(ctx, await viewOfVoice(ctx.db, existing)) };
}

/**
 * Creates a voice in `cloning` with its first clone task (interactive priority), enqueued
 * once committed. The reference is the `audio` URL (checked like any reference URL) or an
 * uploaded file, kept in voice_references: the worker uploads it upstream for each clone.
 */
export async function createVoice(
  ctx: AppContext,
  caller: Caller,
  body: CreateVoiceBody,
  upload: VoiceUpload | null,
  idempotencyKey: string | undefined,
): Promise<Accepted<VoiceResource>> {
  const { db } = ctx;
  const { tenantId } = caller;
  // A file is part of the request by its digest: the same form sent twice is one request.
  const hash = requestHash(upload ? { ...body, file_sha256: upload.sha256 } : body);
  if (idempotencyKey) {
    const existing = await findVoiceByIdempotencyKey(db, { tenantId, idempotencyKey });
    if (existing) return replayVoice(ctx, existing, hash);
  }
  if (!upload && body.audio === undefined) {
    throw validationError([
      { path: 'audio', message: 'is required (or send the file as multipart/form-data `file`)' },
    ]);
  }
  if (body.audio !== undefined) {
    const problems = await checkTargets(
      [{ kind: 'audio', url: body.audio, path: 'audio' }],
      ctx.allowlists,
      targetCheckOptions(ctx.config),
    );
    if (problems.length > 0) throw validationError(problems);
  }

  const settings = cloneSettings(body);
  const source = upload ? { sha256: upload.sha256 } : { url: body.audio ?? '' };
  const estimatedCost = estimateTaskCost(ctx.prices, { kind: 'voice_clone' });
  let created: Awaited<ReturnType<typeof createVoiceWithClone>>;
  try {
    created = await db.transaction((tx) =>
      createVoiceWithClone(tx, {
        voice: {
          id: newId(),
          tenantId,
          name: body.name ?? null,
          audioUrl: body.audio ?? null,
          settings,
          previewText: body.preview_text ?? ctx.config.VOICE_PREVIEW_TEXT,
          settingsHash: voiceSettingsHash(source, settings),
          keepAlive: body.keep_alive,
          metadata: body.metadata ?? null,
          idempotencyKey: idempotencyKey ?? null,
          requestHash: hash,
        },
        ...(upload
          ? {
              reference: {
                fileName: upload.fileName,
                contentType: upload.contentType,
                sha256: upload.sha256,
                size: upload.bytes.length,
                bytes: upload.bytes,
              },
            }
          : {}),
        priority: PRIORITY.interactive,
        estimatedCost,
      }),
    );
  } catch (error) {
    if (idempotencyKey && isUniqueViolation(error, 'voices_tenant_idempotency_key_uq')) {
      const existing = await findVoiceByIdempotencyKey(db, { tenantId, idempotencyKey });
      if (existing) return replayVoice(ctx, existing, hash);
    }
    throw error;
  }
  caller.log.info(
    { voiceId: created.voice.id, cloneJobId: created.job.id, upload: upload !== null },
    'voice accepted',
  );
  await enqueueSubmits(ctx.queues, [created.job], caller.log);
  return {
    replayed: false,
    resource: voiceResource(
      created.voice,
      { cost: { estimated: estimatedCost, actual: null }, preview: null },
      { baseUrl: ctx.baseUrl },
    ),
  };
}

export async function getVoiceResource(ctx: AppContext, caller: Caller, id: string) {
  if (!UUID_PATTERN.test(id)) throw notFound('voice');
  const view = await getVoiceView(ctx.db, { tenantId: caller.tenantId, id });
  if (!view) throw notFound('voice');
  return resourceOf(ctx, view);
}

export async function listVoiceResources(
  ctx: AppContext,
  caller: Caller,
  query: { limit: number; cursor?: string | undefined },
) {
  const beforeId = decodeCursor('voices', query.cursor, isUuid);
  // One more than asked tells whether there is a next page without a count.
  const rows = await listVoices(ctx.db, {
    tenantId: caller.tenantId,
    ...(beforeId ? { beforeId } : {}),
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    data: (await viewsOfVoices(ctx.db, page)).map((view) => resourceOf(ctx, view)),
    next_cursor: rows.length > query.limit && last ? encodeCursor('voices', last.id) : null,
  };
}

export async function patchVoice(
  ctx: AppContext,
  caller: Caller,
  id: string,
  body: PatchVoiceBody,
) {
  if (!UUID_PATTERN.test(id)) throw notFound('voice');
  const voice = await updateVoice(ctx.db, {
    tenantId: caller.tenantId,
    id,
    changes: {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.keep_alive !== undefined ? { keepAlive: body.keep_alive } : {}),
      ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    },
  });
  if (!voice) throw notFound('voice');
  return resourceOf(ctx, await viewOfVoice(ctx.db, voice));
}

/** Soft delete: the row stays (its clones' cost and history), the voice is gone for the API. */
export async function deleteVoice(ctx: AppContext, caller: Caller, id: string): Promise<void> {
  if (!UUID_PATTERN.test(id)) throw notFound('voice');
  const outcome = await softDeleteVoice(ctx.db, { tenantId: caller.tenantId, id });
  if (!outcome) throw notFound('voice');
  if ('inUse' in outcome) {
    throw new ApiError(
      409,
      'voice_in_use',
      `${outcome.inUse} line(s) are still to be spoken with this voice; cancel them or wait`,
      { active_lines: outcome.inUse },
    );
  }
  caller.log.info({ voiceId: id }, 'voice deleted');
}
