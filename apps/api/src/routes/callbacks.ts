import { errorResponse } from '@voxline/contract';
import type { CallbackTarget } from '@voxline/db';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';
import { findCallbackTarget, handleCallback } from '../services/callbacks.js';

// A callback carries one task's query answer: a few kilobytes. Anything far larger is not one.
const CALLBACK_BODY_LIMIT_BYTES = 256 * 1024;

/**
 * `POST /callbacks/runninghub/:token`: RunningHub calls it when a task ends (the `webhookUrl`
 * the worker sent with the submit). No tenant key: the unguessable per-submission token is the
 * credential, and an unknown one is a 404 that writes nothing. A known one is answered 204 at
 * once (RunningHub re-sends to a slow receiver) and handled after the reply.
 */
export function callbackRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    // Whatever type RunningHub sends, read the body as text: parseTaskCallback keeps task ids
    // above 2^53 exact only from the text, and an unreadable body must still wake the poll.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    const pending = new WeakMap<
      FastifyRequest,
      { target: CallbackTarget; body: string | undefined }
    >();

    app.post(
      '/runninghub/:token',
      {
        // Server to server: a browser's cross-site check has nothing to protect here.
        config: { serverToServer: true },
        schema: {
          tags: ['callbacks'],
          summary: 'A RunningHub task ended (its callback)',
          description:
            "RunningHub's callback for a task voxline submitted with a `webhookUrl`. The token " +
            'in the path is the credential: an unknown one is a 404 that changes nothing. A ' +
            "known one is answered 204 at once; the line's poll then runs at once and confirms " +
            'the result with a query (the body is never trusted). Repeats are recorded once.',
          security: [],
          params: z.object({ token: z.string() }),
          response: { 204: z.null(), 404: errorResponse },
        },
        onResponse: async (request, reply) => {
          const work = pending.get(request);
          if (!work || reply.statusCode !== 204) return;
          try {
            await handleCallback(ctx, work.target, work.body, request.log);
          } catch (error) {
            // The poll still runs on its own schedule: a lost callback only costs latency.
            request.log.error({ err: error, cloneJobId: work.target.id }, 'callback not handled');
          }
        },
      },
      async (request, reply) => {
        const target = await findCallbackTarget(ctx, request.params.token);
        if (!target) {
          ctx.apiMetrics.callbacks.inc({ outcome: 'unknown_token' });
          throw notFound('callback');
        }
        const body = request.body;
        pending.set(request, { target, body: typeof body === 'string' ? body : undefined });
        return reply.status(204).send(null);
      },
    );
  };
}
