import {
  batchAcceptedResponse,
  batchCancelResponse,
  batchClonesQuery,
  batchResponse,
  cloneListResponse,
  commonErrors,
  errorResponse,
  idempotencyHeaders,
  idParams,
} from '@voxline/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { callerOf } from '../plugins/auth.js';
import {
  cancelBatch,
  createBatch,
  getBatchResource,
  listBatchClones,
} from '../services/batches.js';
import { sendAccepted } from '../services/idempotency.js';

export function batchRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/batches',
      {
        schema: {
          summary: 'Speak many lines with one voice',
          description:
            'Who speaks: `voice` (clone fields: cloned once into a voice, or an identical voice ' +
            'of the tenant reused), `voice_id` or `system_voice`, with `model` and `speech` ' +
            'settings; each line may override `voice_id`, `system_voice`, `model` and `speech` ' +
            '(merged per field). `per_line_clone: true` makes every line a voice clone of its ' +
            'own, as before voices (lines may then override the clone fields). `max_cost` (CNY): ' +
            'a batch estimated over it is refused with 422 `budget_exceeded`. The batch and all ' +
            'its lines are written in one transaction, then enqueued at batch priority. ' +
            'Idempotency-Key works as on POST /v1/clones.',
          headers: idempotencyHeaders,
          body: ctx.schemas.createBatch,
          response: {
            200: batchAcceptedResponse,
            202: batchAcceptedResponse,
            409: errorResponse,
            413: errorResponse,
            422: errorResponse,
            ...commonErrors,
          },
        },
      },
      async (request, reply) => {
        const result = await createBatch(
          ctx,
          callerOf(request),
          request.body,
          request.headers['idempotency-key'],
        );
        return sendAccepted(reply, result);
      },
    );

    app.get(
      '/batches/:id',
      {
        schema: {
          summary: 'Get a batch with its counts per status and its cost',
          params: idParams,
          response: { 200: batchResponse, ...commonErrors },
        },
      },
      async (request) => getBatchResource(ctx, callerOf(request), request.params.id),
    );

    app.get(
      '/batches/:id/clones',
      {
        schema: {
          summary: "List a batch's clones in line order",
          params: idParams,
          querystring: batchClonesQuery,
          response: { 200: cloneListResponse, ...commonErrors },
        },
      },
      async (request) => listBatchClones(ctx, callerOf(request), request.params.id, request.query),
    );

    app.post(
      '/batches/:id/cancel',
      {
        schema: {
          summary: 'Cancel every line of a batch that is not finished',
          params: idParams,
          response: { 200: batchCancelResponse, ...commonErrors },
        },
      },
      async (request) => cancelBatch(ctx, callerOf(request), request.params.id),
    );
  };
}
