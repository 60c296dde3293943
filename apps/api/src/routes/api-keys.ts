import {
  apiKeyIssuedResponse,
  apiKeyListResponse,
  apiKeyResource,
  apiKeyResponse,
  errorResponse,
  UUID_PATTERN,
} from '@voxline/contract';
import { getTenant, issueApiKey, listApiKeys, revokeApiKey } from '@voxline/db';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';

/**
 * A tenant's API keys, for operators (mounted in `adminRoutes`, behind ADMIN_TOKEN): issue
 * another (rotation: issue, switch the client over, revoke the old one), list, revoke. Keys
 * are looked up in Postgres on every request (nothing caches them), so a revoked key is refused
 * from the next request on.
 */

// Ids are checked by the handler, as on /v1: a malformed id is an id that does not exist.
const tenantParams = z.object({ tenantId: z.string().max(100) });
const keyParams = tenantParams.extend({ keyId: z.string().max(100) });

const errors = { 401: errorResponse, 403: errorResponse, 404: errorResponse } as const;

export function apiKeyRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/tenants/:tenantId/api-keys',
      {
        schema: {
          summary: "Issue another API key for a tenant (the tenant's other keys stay valid)",
          description:
            'The key is in this answer only: voxline stores its SHA-256. Rotate by issuing a ' +
            'key, moving the client to it, then revoking the old one.',
          params: tenantParams,
          response: { 201: apiKeyIssuedResponse, ...errors },
        },
      },
      async (request, reply) => {
        const { tenantId } = request.params;
        const issued = UUID_PATTERN.test(tenantId) ? await issueApiKey(ctx.db, { tenantId }) : null;
        if (!issued) throw notFound('tenant');
        request.log.info({ tenantId, keyId: issued.key.id }, 'api key issued');
        return reply.status(201).send({ ...apiKeyResource(issued.key), api_key: issued.apiKey });
      },
    );

    app.get(
      '/tenants/:tenantId/api-keys',
      {
        schema: {
          summary: "List a tenant's API keys",
          description: 'Id, prefix and dates of every key, revoked ones included; never the key.',
          params: tenantParams,
          response: { 200: apiKeyListResponse, ...errors },
        },
      },
      async (request) => {
        const { tenantId } = request.params;
        const tenant = UUID_PATTERN.test(tenantId)
          ? await getTenant(ctx.db, { id: tenantId })
          : null;
        if (!tenant) throw notFound('tenant');
        const keys = await listApiKeys(ctx.db, { tenantId });
        return { data: keys.map(apiKeyResource) };
      },
    );

    app.post(
      '/tenants/:tenantId/api-keys/:keyId/revoke',
      {
        schema: {
          summary: "Revoke one of a tenant's API keys",
          description:
            'Requests with the key are refused from now on. Revoking a revoked key answers ' +
            'the same (with the first revocation time); a key of another tenant is not found.',
          params: keyParams,
          response: { 200: apiKeyResponse, ...errors },
        },
      },
      async (request) => {
        const { tenantId, keyId } = request.params;
        const key =
          UUID_PATTERN.test(tenantId) && UUID_PATTERN.test(keyId)
            ? await revokeApiKey(ctx.db, { tenantId, id: keyId })
            : null;
        if (!key) throw notFound('api key');
        request.log.info({ tenantId, keyId }, 'api key revoked');
        return apiKeyResource(key);
      },
    );
  };
}
