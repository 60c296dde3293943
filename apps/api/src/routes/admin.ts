import {
  createTenantBody,
  errorResponse,
  idParams,
  tenantCreatedResponse,
  tenantResponse,
  UUID_PATTERN,
  updateTenantBody,
} from '@voxline/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';
import { routeDocs, SECURITY } from '../openapi.js';
import { operatorAuth } from '../plugins/auth.js';
import { createTenantWithSettings, getTenantResource, updateTenant } from '../services/tenants.js';
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

    const errors = { 400: errorResponse, 401: errorResponse, 403: errorResponse } as const;
    const withTenantErrors = { ...errors, 404: errorResponse, 422: errorResponse } as const;

    // The API key is shown here once: only its hash is stored. The webhook secret is stored as
    // issued (signing needs it) and can be read again by an admin later. A RunningHub key given
    // here is sealed at rest and never shown again.
    app.post(
      '/tenants',
      {
        schema: {
          summary: 'Create a tenant and its first API key',
          description:
            'The API key is in this answer only: voxline stores its SHA-256. The webhook signing ' +
            'secret is stored as issued and is the one the tenant verifies webhooks with. With ' +
            '`runninghub_api_key`, the tenant runs on its own RunningHub account (sealed with ' +
            'TENANT_KEY_ENCRYPTION_KEY, never returned); `weight` is its share of an account ' +
            'against other tenants waiting on it.',
          body: createTenantBody,
          response: { 201: tenantCreatedResponse, 422: errorResponse, ...errors },
        },
      },
      async (request, reply) => {
        const created = await createTenantWithSettings(ctx, request.body);
        request.log.info({ tenantId: created.id }, 'tenant created');
        return reply.status(201).send(created);
      },
    );

    app.get(
      '/tenants/:id',
      {
        schema: {
          summary: "A tenant's settings and upstream account (never its key)",
          params: idParams,
          response: { 200: tenantResponse, ...withTenantErrors },
        },
      },
      async (request) => {
        if (!UUID_PATTERN.test(request.params.id)) throw notFound('tenant');
        return getTenantResource(ctx, request.params.id);
      },
    );

    app.patch(
      '/tenants/:id',
      {
        schema: {
          summary: "Change a tenant's settings, or give it (or take away) its own RunningHub key",
          description:
            '`null` puts a limit back to the deployment default, and `runninghub_api_key: null` ' +
            'moves the tenant back to the shared account. A new key is a new account with its own ' +
            'slots; tasks submitted with the old key are still queried with it.',
          params: idParams,
          body: updateTenantBody,
          response: { 200: tenantResponse, ...withTenantErrors },
        },
      },
      async (request) => {
        if (!UUID_PATTERN.test(request.params.id)) throw notFound('tenant');
        const tenant = await updateTenant(ctx, request.params.id, request.body);
        request.log.info({ tenantId: tenant.id }, 'tenant settings changed');
        return tenant;
      },
    );

    await app.register(apiKeyRoutes(ctx));
  };
}
