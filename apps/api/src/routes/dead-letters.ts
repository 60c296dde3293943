import {
  commonErrors,
  deadLetterListResponse,
  deadLettersQuery,
  redriveBody,
  redriveResponse,
} from '@voxline/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { callerOf } from '../plugins/auth.js';
import { listTenantDeadLetters, redrive } from '../services/dead-letters.js';

export function deadLetterRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/dead-letters',
      {
        schema: {
          summary: 'List dead letters',
          description: 'Clones that failed for good, newest first, with their error and attempts.',
          querystring: deadLettersQuery,
          response: { 200: deadLetterListResponse, ...commonErrors },
        },
      },
      async (request) => listTenantDeadLetters(ctx, callerOf(request), request.query),
    );

    app.post(
      '/dead-letters/redrive',
      {
        schema: {
          summary: 'Redrive dead letters',
          description:
            'By ids, batch_id or error_code (exactly one). Each job starts again as run n+1; ' +
            'the dead letters and events stay as history.',
          body: redriveBody,
          response: { 200: redriveResponse, ...commonErrors },
        },
      },
      async (request) => redrive(ctx, callerOf(request), request.body),
    );
  };
}
