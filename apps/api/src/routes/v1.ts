import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { routeDocs, SECURITY } from '../openapi.js';
import { tenantAuth } from '../plugins/auth.js';
import { registerTenantRateLimit } from '../plugins/rate-limit.js';
import { batchRoutes } from './batches.js';
import { cloneRoutes } from './clones.js';
import { deadLetterRoutes } from './dead-letters.js';
import { voiceRoutes } from './voices.js';
import { webhookRoutes } from './webhooks.js';

/** The producer API: every route needs a tenant API key and sees only that tenant's rows. */
export function v1Routes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', tenantAuth(ctx.db));
    await registerTenantRateLimit(app, ctx, (tenantId) =>
      ctx.apiMetrics.rateLimited.inc({ tenant: tenantId }),
    );
    app.addHook('onRoute', routeDocs({ security: SECURITY.tenant }));
    const sections = [
      ['voices', voiceRoutes],
      ['clones', cloneRoutes],
      ['batches', batchRoutes],
      ['dead-letters', deadLetterRoutes],
      ['webhooks', webhookRoutes],
    ] as const;
    for (const [tag, routes] of sections) {
      await app.register(async (section) => {
        section.addHook('onRoute', routeDocs({ tags: [tag] }));
        await section.register(routes(ctx));
      });
    }
  };
}
