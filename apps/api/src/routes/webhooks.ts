import {
  commonErrors,
  createEndpointBody,
  deliveriesQuery,
  deliveryListResponse,
  deliveryResource,
  deliveryResponse,
  EVENT_TYPES,
  endpointListResponse,
  endpointResource,
  endpointResponse,
  errorResponse,
  idParams,
  secretResource,
  secretResponse,
  UUID_PATTERN,
} from '@voxline/contract';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  EndpointExistsError,
  EndpointLimitError,
  getWebhookDelivery,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  resetDeliveryForRedelivery,
  rotateWebhookSecret,
} from '@voxline/db';
import { admitDeliveries, urlForLog } from '@voxline/webhooks';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { ApiError, notFound, validationError } from '../errors.js';
import { callerOf } from '../plugins/auth.js';
import { decodeCursor, encodeCursor } from '../services/cursor.js';
import { checkTargets, targetCheckOptions } from '../services/targets.js';

/**
 * Webhook endpoints a tenant registers, the deliveries made to them (and to clones' and
 * batches' own `webhook_url`), redelivery, and rotation of the signing secret.
 * The delivery itself is the worker's: see @voxline/webhooks and docs/webhooks.md.
 */

const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_PATTERN.test(v);

const deliveryPending = () =>
  new ApiError(
    409,
    'delivery_pending',
    'the delivery is still pending (its attempts are under way); redeliver it once it has succeeded or failed',
  );

/* ---------------------------------------------------------------- routes ----------------- */

export function webhookRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/webhook-endpoints',
      {
        schema: {
          summary: 'Register a webhook endpoint',
          body: createEndpointBody,
          response: { 201: endpointResponse, 409: errorResponse, ...commonErrors },
        },
      },
      async (request, reply) => {
        const { tenantId, log } = callerOf(request);
        const body = request.body;
        const problems = await checkTargets(
          [{ kind: 'webhook', url: body.url, path: 'url' }],
          ctx.allowlists,
          targetCheckOptions(ctx.config),
        );
        if (problems.length > 0) throw validationError(problems);
        // The per-tenant cap (a trigger) and one URL per tenant (a unique index) are the
        // database's, so racing requests can pass neither.
        const endpoint = await createWebhookEndpoint(ctx.db, {
          tenantId,
          url: body.url,
          eventTypes: [...new Set(body.event_types ?? EVENT_TYPES)],
          description: body.description ?? null,
        }).catch((error: unknown) => {
          if (error instanceof EndpointLimitError) {
            throw new ApiError(409, 'too_many_endpoints', error.message);
          }
          if (error instanceof EndpointExistsError) {
            throw new ApiError(409, 'endpoint_exists', error.message, {
              endpoint_id: error.existingId,
            });
          }
          throw error;
        });
        log.info(
          { endpointId: endpoint.id, url: urlForLog(endpoint.url) },
          'webhook endpoint created',
        );
        return reply.status(201).send(endpointResource(endpoint));
      },
    );

    app.get(
      '/webhook-endpoints',
      {
        schema: {
          summary: 'List webhook endpoints',
          response: { 200: endpointListResponse, ...commonErrors },
        },
      },
      async (request) => {
        const { tenantId } = callerOf(request);
        const endpoints = await listWebhookEndpoints(ctx.db, { tenantId });
        return { data: endpoints.map(endpointResource) };
      },
    );

    app.get(
      '/webhook-endpoints/:id',
      {
        schema: {
          summary: 'Get a webhook endpoint',
          params: idParams,
          response: { 200: endpointResponse, ...commonErrors },
        },
      },
      async (request) => {
        const { tenantId } = callerOf(request);
        const { id } = request.params;
        const endpoint = isUuid(id) ? await getWebhookEndpoint(ctx.db, { tenantId, id }) : null;
        if (!endpoint) throw notFound('webhook endpoint');
        return endpointResource(endpoint);
      },
    );

    app.delete(
      '/webhook-endpoints/:id',
      {
        schema: {
          summary: 'Delete a webhook endpoint',
          params: idParams,
          response: { 204: z.null(), ...commonErrors },
        },
      },
      async (request, reply) => {
        const { tenantId, log } = callerOf(request);
        const { id } = request.params;
        if (!isUuid(id) || !(await deleteWebhookEndpoint(ctx.db, { tenantId, id }))) {
          throw notFound('webhook endpoint');
        }
        // Its pending deliveries end as failed (ENDPOINT_DELETED) when their turn comes.
        log.info({ endpointId: id }, 'webhook endpoint deleted');
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/webhook-deliveries',
      {
        schema: {
          summary: 'List webhook deliveries and their attempts',
          querystring: deliveriesQuery,
          response: {
            200: deliveryListResponse,
            ...commonErrors,
          },
        },
      },
      async (request) => {
        const { tenantId } = callerOf(request);
        const query = request.query;
        const before = decodeCursor('webhook-deliveries', query.cursor, isUuid);
        const rows = await listWebhookDeliveries(ctx.db, {
          tenantId,
          ...(query.status ? { status: query.status } : {}),
          ...(query.event_type ? { eventType: query.event_type } : {}),
          ...(query.endpoint_id ? { endpointId: query.endpoint_id } : {}),
          ...(query.clone_id ? { cloneJobId: query.clone_id } : {}),
          ...(query.batch_id ? { batchId: query.batch_id } : {}),
          ...(query.since ? { since: query.since } : {}),
          ...(before ? { before } : {}),
          limit: query.limit + 1,
        });
        const page = rows.slice(0, query.limit);
        const last = page.at(-1);
        return {
          data: page.map(deliveryResource),
          next_cursor:
            rows.length > query.limit && last
              ? encodeCursor('webhook-deliveries', last.delivery.id)
              : null,
        };
      },
    );

    app.post(
      '/webhook-deliveries/:id/redeliver',
      {
        schema: {
          summary: 'Deliver a webhook event again',
          params: idParams,
          response: { 202: deliveryResponse, 409: errorResponse, ...commonErrors },
        },
      },
      async (request, reply) => {
        const { tenantId, log } = callerOf(request);
        const { id } = request.params;
        const current = isUuid(id) ? await getWebhookDelivery(ctx.db, { tenantId, id }) : null;
        if (!current) throw notFound('webhook delivery');
        if (current.endpointId) {
          const endpoint = await getWebhookEndpoint(ctx.db, { tenantId, id: current.endpointId });
          if (!endpoint || endpoint.disabledAt) {
            throw new ApiError(
              409,
              'endpoint_disabled',
              endpoint
                ? `the endpoint is disabled (${endpoint.disabledReason ?? 'no reason given'}); register it again to receive events`
                : 'the endpoint was deleted',
            );
          }
        }
        if (current.status === 'pending') throw deliveryPending();
        // Conditional: a redelivery (or retry) that made it pending since the read above wins.
        const reset = await resetDeliveryForRedelivery(ctx.db, { tenantId, id });
        if (!reset) throw deliveryPending();
        try {
          // Through the tenant's lane: over its cap of pending deliveries, the redelivery waits
          // in Postgres with the rest of its backlog.
          await admitDeliveries(
            {
              db: ctx.db,
              queues: ctx.queues,
              redis: ctx.redis,
              maxPending: ctx.config.WEBHOOK_MAX_PENDING_PER_TENANT,
            },
            [id],
            { now: true },
          );
        } catch (error) {
          // Committed as pending and due now: the worker's reconciler queues it after its grace.
          log.warn({ err: error, deliveryId: id }, 'redelivery not enqueued; the reconciler will');
        }
        log.info({ deliveryId: id, url: urlForLog(reset.url) }, 'webhook redelivery requested');
        const [item] = await listWebhookDeliveries(ctx.db, { tenantId, id, limit: 1 });
        if (!item) throw notFound('webhook delivery');
        return reply.status(202).send(deliveryResource(item));
      },
    );

    app.post(
      '/webhook-secret/rotate',
      {
        schema: {
          summary: 'Rotate the webhook signing secret',
          response: { 200: secretResponse, ...commonErrors },
        },
      },
      async (request) => {
        const { tenantId, log } = callerOf(request);
        const rotated = await rotateWebhookSecret(ctx.db, {
          id: tenantId,
          graceMs: ctx.config.WEBHOOK_SECRET_GRACE_MS,
        });
        if (!rotated?.tenant.secretRotatedAt) throw notFound('tenant');
        log.info('webhook secret rotated');
        return secretResource({
          secret: rotated.tenant.webhookSecret,
          rotatedAt: rotated.tenant.secretRotatedAt,
          previousExpiresAt: rotated.previousExpiresAt,
        });
      },
    );
  };
}
