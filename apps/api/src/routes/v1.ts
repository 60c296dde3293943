import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { tenantAuth } from '../plugins/auth.js';
import { batchRoutes } from './batches.js';
import { cloneRoutes } from './clones.js';
import { deadLetterRoutes } from './dead-letters.js';
import { webhookRoutes } from './webhooks.js';

/** The producer API: every route needs a tenant API key and sees only that tenant's rows. */
export function v1Routes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', tenantAuth(ctx.db));
    await app.register(cloneRoutes(ctx));
    await app.register(batchRoutes(ctx));
    await app.register(deadLetterRoutes(ctx));
    await app.register(webhookRoutes(ctx));
  };
}
