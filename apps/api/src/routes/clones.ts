import {
  cloneAudioQuery,
  cloneResponse,
  commonErrors,
  errorResponse,
  idempotencyHeaders,
  idParams,
} from '@voxline/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { callerOf } from '../plugins/auth.js';
import { sendCloneAudio } from '../services/audio.js';
import { cancelClone, createClone, getClone } from '../services/clones.js';
import { sendAccepted } from '../services/idempotency.js';

export function cloneRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/clones',
      {
        schema: {
          summary: 'Speak one line with a voice, or clone a voice for it',
          description:
            'With `voice_id` (a voice of the tenant) or `system_voice`, plus `model` (a speech ' +
            'model, default speech-02-hd) and speech settings: one speech call, billed per ' +
            'character. With the clone fields (`audio`, `custom_voice_id`, …): one voice-clone ' +
            'call, as before voices. Giving fields of both kinds, or neither, is a 400 naming the ' +
            'field; an unknown voice is a 404 `voice_not_found`, a failed one a 422 `voice_failed`. ' +
            'Queued at interactive priority (ahead of batch lines). 202 with the clone; 200 with ' +
            'the original clone and `idempotent-replayed: true` when the same Idempotency-Key and ' +
            'body were seen before; 409 when the key was used with another body.',
          headers: idempotencyHeaders,
          body: ctx.schemas.createClone,
          response: {
            200: cloneResponse,
            202: cloneResponse,
            409: errorResponse,
            422: errorResponse,
            ...commonErrors,
          },
        },
      },
      async (request, reply) => {
        const result = await createClone(
          ctx,
          callerOf(request),
          request.body,
          request.headers['idempotency-key'],
        );
        return sendAccepted(reply, result);
      },
    );

    app.get(
      '/clones/:id',
      {
        schema: {
          summary: 'Get a clone, with its audio once it succeeded',
          params: idParams,
          response: { 200: cloneResponse, ...commonErrors },
        },
      },
      async (request) => getClone(ctx, callerOf(request), request.params.id),
    );

    app.get(
      '/clones/:id/audio',
      {
        schema: {
          summary: "The clone's stored audio file",
          description:
            "Streams the file voxline stored when the clone succeeded (it outlives upstream's " +
            'link): `Content-Type` as read from the file, `Content-Length`, `ETag` (its ' +
            'SHA-256, quoted), `Accept-Ranges: bytes`. One `Range` → 206 with `Content-Range`, ' +
            'or 416 past the end; `If-None-Match` with the ETag → 304. 404 `audio_not_archived` ' +
            'while there is no stored file, 410 `audio_purged` after AUDIO_RETENTION_DAYS ' +
            'removed it. `?redirect=true` with an S3 store: 302 to a presigned URL ' +
            '(AUDIO_PRESIGN_TTL_S); a folder store streams as without it.',
          params: idParams,
          querystring: cloneAudioQuery,
          response: { 410: errorResponse, 416: errorResponse, ...commonErrors },
        },
      },
      async (request, reply) =>
        sendCloneAudio(
          ctx,
          callerOf(request),
          {
            id: request.params.id,
            redirect: request.query.redirect,
            headers: request.headers,
            log: request.log,
          },
          reply,
        ),
    );

    app.post(
      '/clones/:id/cancel',
      {
        schema: {
          summary: 'Cancel a clone',
          description:
            'A task already submitted upstream finishes there (RunningHub has no cancel) and its ' +
            'result is dropped. 409 `not_cancelable` when the clone is already terminal.',
          params: idParams,
          response: { 200: cloneResponse, 409: errorResponse, ...commonErrors },
        },
      },
      async (request) => cancelClone(ctx, callerOf(request), request.params.id),
    );
  };
}
