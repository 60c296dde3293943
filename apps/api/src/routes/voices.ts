import multipart from '@fastify/multipart';
import {
  commonErrors,
  errorResponse,
  idempotencyHeaders,
  idParams,
  VOICE_FILE_MAX_BYTES,
  voiceListResponse,
  voiceResponse,
  voicesQuery,
} from '@voxline/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { callerOf } from '../plugins/auth.js';
import { sendAccepted } from '../services/idempotency.js';
import { readVoiceForm, uploadOf } from '../services/voice-upload.js';
import {
  createVoice,
  deleteVoice,
  getVoiceResource,
  listVoiceResources,
  patchVoice,
} from '../services/voices.js';

// Form fields of a voice: its settings and metadata, a few KB at most.
const FORM_FIELDS = 16;

export function voiceRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    // Here only: no other route takes multipart bodies.
    await app.register(multipart, {
      limits: {
        fileSize: VOICE_FILE_MAX_BYTES,
        // Two, so that a second file is seen and refused by name rather than dropped.
        files: 2,
        fields: FORM_FIELDS,
        // The largest field is the metadata JSON or a preview text (4 bytes a character at
        // most in UTF-8); the schema then applies the exact limits, naming the field.
        fieldSize: ctx.config.METADATA_MAX_BYTES + ctx.config.CLONE_TEXT_MAX_CHARS * 4,
      },
    });

    app.post(
      '/voices',
      {
        preValidation: readVoiceForm,
        schema: {
          summary: 'Create a voice: clone a reference once, then speak any number of lines',
          description:
            'JSON with the reference as an `audio` URL, or multipart/form-data with the file as ' +
            '`file` (MP3 or WAV, at most 10 MB) and the other fields as form fields. 202 with ' +
            'the voice in `cloning`; it becomes `ready` (or `failed`) when its clone ends ' +
            '(`voice.ready` / `voice.failed` webhooks). Idempotency-Key works as on POST /v1/clones.',
          consumes: ['application/json', 'multipart/form-data'],
          headers: idempotencyHeaders,
          body: ctx.schemas.createVoice,
          response: {
            200: voiceResponse,
            202: voiceResponse,
            409: errorResponse,
            413: errorResponse,
            ...commonErrors,
          },
        },
      },
      async (request, reply) => {
        const result = await createVoice(
          ctx,
          callerOf(request),
          request.body,
          uploadOf(request),
          request.headers['idempotency-key'],
        );
        return sendAccepted(reply, result);
      },
    );

    app.get(
      '/voices',
      {
        schema: {
          summary: "List the tenant's voices, newest first",
          querystring: voicesQuery,
          response: { 200: voiceListResponse, ...commonErrors },
        },
      },
      async (request) => listVoiceResources(ctx, callerOf(request), request.query),
    );

    app.get(
      '/voices/:id',
      {
        schema: {
          summary: 'Get a voice, with its upstream voice id and preview once ready',
          params: idParams,
          response: { 200: voiceResponse, ...commonErrors },
        },
      },
      async (request) => getVoiceResource(ctx, callerOf(request), request.params.id),
    );

    app.patch(
      '/voices/:id',
      {
        schema: {
          summary: 'Rename a voice, keep it alive upstream, or change its metadata',
          description:
            '`keep_alive: true` has voxline make the cheapest speech call before upstream would ' +
            'forget the voice (7 days unused), its cost recorded. `null` clears name or metadata.',
          params: idParams,
          body: ctx.schemas.patchVoice,
          response: { 200: voiceResponse, ...commonErrors },
        },
      },
      async (request) => patchVoice(ctx, callerOf(request), request.params.id, request.body),
    );

    app.delete(
      '/voices/:id',
      {
        schema: {
          summary: 'Delete a voice',
          description:
            '204; 409 `voice_in_use` while lines to be spoken with it are queued or running. ' +
            'Lines already spoken keep their audio; the voice is gone for every later request.',
          params: idParams,
          response: { 204: z.null(), 409: errorResponse, ...commonErrors },
        },
      },
      async (request, reply) => {
        await deleteVoice(ctx, callerOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
