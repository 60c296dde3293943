import { createTenantBody, errorResponse, tenantCreatedResponse } from '@voxline/contract';
import { createTenant } from '@voxline/db';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { routeDocs, SECURITY } from '../openapi.js';
import { operatorAuth } from '../plugins/auth.js';
import { apiKeyRoutes } from './api-keys.js';

/**
 * Routes for operators, behind ADMIN_TOKEN (the read-only credential gets 403): tenants and
 * their API keys. Mounted under `/admin`; Bull Board (`/admin/queues`) is registered apart,
 * since viewers may see it.
 */
export function adminRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', operatorAuth(ctx.config, ['admin']));
    app.addHook('onRoute', routeDocs({ tags: ['admin'], security: SECURITY.admin }));

    // The API key is shown here once: only its hash is stored. The webhook secret is stored as
    // issued (signing needs it) and can be read again by an admin later.
    app.post(
      '/tenants',
      {
        schema: {
          summary: 'Create a tenant and its first API key',
          description:
            'The API key is in this answer only: voxline stores its SHA-256. The webhook signing ' +
            'secret is stored as issued and is the one the tenant verifies webhooks with.',
          body: createTenantBody,
          response: {
            201: tenantCreatedResponse,
            400: errorResponse,
            401: errorResponse,
            403: errorResponse,
          },
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

    await app.register(apiKeyRoutes(ctx));
  };
}
