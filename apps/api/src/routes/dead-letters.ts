import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { callerOf } from '../plugins/auth.js';
import {
  commonErrors,
  deadLetterListResponse,
  deadLettersQuery,
  redriveBody,
  redriveResponse,
} from '../schemas/index.js';
import { listTenantDeadLetters, redrive } from '../services/dead-letters.js';

export function deadLetterRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/dead-letters',
      {
        schema: {
          querystring: deadLettersQuery,
          response: { 200: deadLetterListResponse, ...commonErrors },
        },
      },
      async (request) => listTenantDeadLetters(ctx, callerOf(request), request.query),
    );

    app.post(
      '/dead-letters/redrive',
      { schema: { body: redriveBody, response: { 200: redriveResponse, ...commonErrors } } },
      async (request) => redrive(ctx, callerOf(request), request.body),
    );
  };
}
