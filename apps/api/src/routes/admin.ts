import { createTenant } from '@voxline/db';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { adminAuth } from '../plugins/auth.js';
import { createTenantBody, errorResponse, tenantCreatedResponse } from '../schemas/index.js';

/** Routes for operators, behind ADMIN_TOKEN. Mounted under `/admin`. */
export function adminRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', adminAuth(ctx.config.ADMIN_TOKEN));

    // The API key is shown here once: only its hash is stored. The webhook secret is stored as
    // issued (signing needs it) and can be read again by an admin later.
    app.post(
      '/tenants',
      {
        schema: {
          body: createTenantBody,
          response: { 201: tenantCreatedResponse, 400: errorResponse, 401: errorResponse },
        },
      },
      async (request, reply) => {
        const { tenant, apiKey } = await createTenant(ctx.db, { name: request.body.name });
        request.log.info({ tenantId: tenant.id }, 'tenant created');
        return reply.status(201).send({
          tenant_id: tenant.id,
          name: tenant.name,
          api_key: apiKey,
          webhook_secret: tenant.webhookSecret,
        });
      },
    );
  };
}
