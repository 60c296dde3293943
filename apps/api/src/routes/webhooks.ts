import {
  createWebhookEndpoint,
  DELIVERY_STATUSES,
  type DeliveryListItem,
  deleteWebhookEndpoint,
  EndpointLimitError,
  getWebhookDelivery,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  resetDeliveryForRedelivery,
  rotateWebhookSecret,
  type WebhookEndpoint,
} from '@voxline/db';
import { EVENT_TYPES, requeueDeliveries, urlForLog } from '@voxline/webhooks';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { ApiError, notFound, validationError } from '../errors.js';
import { callerOf } from '../plugins/auth.js';
import {
  commonErrors,
  cursorQuery,
  errorResponse,
  idParams,
  sinceQuery,
  UUID_PATTERN,
} from '../schemas/index.js';
import { decodeCursor, encodeCursor } from '../services/cursor.js';
import { checkTargets } from '../services/targets.js';

/**
 * Webhook endpoints a tenant registers, the deliveries made to them (and to clones' and
 * batches' own `webhook_url`), redelivery, and rotation of the signing secret.
 * The delivery itself is the worker's: see @voxline/webhooks and docs/webhooks.md.
 */

const URL_MAX_CHARS = 2_048;
// Each delivery carries up to a schedule's worth of attempts: pages are smaller than elsewhere.
const MAX_DELIVERIES_PAGE = 200;

/* ---------------------------------------------------------------- schemas ---------------- */

const eventType = z.enum(EVENT_TYPES, {
  error: `event types are ${EVENT_TYPES.join(', ')}`,
});

const createEndpointBody = z.strictObject(
  {
    url: z
      .url({ protocol: /^https?$/, error: 'url must be an http(s) URL' })
      .max(URL_MAX_CHARS, `url must be at most ${URL_MAX_CHARS} characters`),
    // All event types when omitted.
    event_types: z
      .array(eventType, { error: 'event_types must be an array of event types' })
      .min(1, 'event_types must not be empty')
      .max(EVENT_TYPES.length)
      .optional(),
    description: z.string().max(500, 'description must be at most 500 characters').optional(),
  },
  { error: 'body must be a JSON object' },
);

const deliveriesQuery = z.strictObject({
  status: z
    .enum(DELIVERY_STATUSES, { error: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
    .optional(),
  event_type: eventType.optional(),
  endpoint_id: z.uuid('endpoint_id must be a uuid').optional(),
  clone_id: z.uuid('clone_id must be a uuid').optional(),
  batch_id: z.uuid('batch_id must be a uuid').optional(),
  since: sinceQuery,
  limit: z.coerce
    .number({ error: 'limit must be a number' })
    .int('limit must be an integer')
    .min(1, 'limit must be at least 1')
    .max(MAX_DELIVERIES_PAGE, `limit must be at most ${MAX_DELIVERIES_PAGE}`)
    .default(50),
  cursor: cursorQuery,
});

const endpointResponse = z.object({
  id: z.string(),
  object: z.literal('webhook_endpoint'),
  url: z.string(),
  event_types: z.array(z.string()),
  description: z.string().nullable(),
  status: z.enum(['enabled', 'disabled']),
  disabled_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
  last_success_at: z.string().nullable(),
  failing_since: z.string().nullable(),
  created_at: z.string(),
});

const attemptResponse = z.object({
  attempt: z.number().int(),
  status_code: z.number().int().nullable(),
  duration_ms: z.number().int(),
  response_excerpt: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
});

const deliveryResponse = z.object({
  id: z.string(),
  object: z.literal('webhook_delivery'),
  /** The `webhook-id` header: the same on every attempt and every redelivery. */
  event_id: z.string(),
  event_type: z.string(),
  clone_id: z.string().nullable(),
  batch_id: z.string().nullable(),
  endpoint_id: z.string().nullable(),
  url: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempt_count: z.number().int(),
  next_attempt_at: z.string().nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  attempts: z.array(attemptResponse),
});

const secretResponse = z.object({
  object: z.literal('webhook_secret'),
  /** Shown once: keep it in the receiver's configuration. */
  secret: z.string(),
  rotated_at: z.string(),
  /** Until then messages carry a signature with the previous secret too. */
  previous_secret_valid_until: z.string(),
});

/* ---------------------------------------------------------------- resources -------------- */

function endpointResource(endpoint: WebhookEndpoint): z.infer<typeof endpointResponse> {
  return {
    id: endpoint.id,
    object: 'webhook_endpoint',
    url: endpoint.url,
    event_types: endpoint.eventTypes,
    description: endpoint.description,
    status: endpoint.disabledAt ? 'disabled' : 'enabled',
    disabled_at: endpoint.disabledAt?.toISOString() ?? null,
    disabled_reason: endpoint.disabledReason,
    last_success_at: endpoint.lastSuccessAt?.toISOString() ?? null,
    failing_since: endpoint.failingSince?.toISOString() ?? null,
    created_at: endpoint.createdAt.toISOString(),
  };
}

function deliveryResource(item: DeliveryListItem): z.infer<typeof deliveryResponse> {
  const { delivery, event } = item;
  return {
    id: delivery.id,
    object: 'webhook_delivery',
    event_id: event.id,
    event_type: event.type,
    clone_id: event.cloneJobId,
    batch_id: event.batchId,
    endpoint_id: delivery.endpointId,
    url: delivery.url,
    status: delivery.status,
    attempt_count: delivery.attempts,
    next_attempt_at: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created_at: delivery.createdAt.toISOString(),
    completed_at: delivery.completedAt?.toISOString() ?? null,
    attempts: item.attempts.map((a) => ({
      attempt: a.attempt,
      status_code: a.statusCode,
      duration_ms: a.durationMs,
      response_excerpt: a.responseExcerpt,
      error: a.error,
      created_at: a.createdAt.toISOString(),
    })),
  };
}

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
        );
        if (problems.length > 0) throw validationError(problems);
        // The per-tenant cap is the database's (a trigger), so racing requests cannot exceed it.
        const endpoint = await createWebhookEndpoint(ctx.db, {
          tenantId,
          url: body.url,
          eventTypes: [...new Set(body.event_types ?? EVENT_TYPES)],
          description: body.description ?? null,
        }).catch((error: unknown) => {
          if (error instanceof EndpointLimitError) {
            throw new ApiError(409, 'too_many_endpoints', error.message);
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
          response: { 200: z.object({ data: z.array(endpointResponse) }), ...commonErrors },
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
            200: z.object({ data: z.array(deliveryResponse), next_cursor: z.string().nullable() }),
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
          await requeueDeliveries(ctx.queues, [id], { now: true });
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
        return {
          object: 'webhook_secret' as const,
          secret: rotated.tenant.webhookSecret,
          rotated_at: rotated.tenant.secretRotatedAt.toISOString(),
          previous_secret_valid_until: rotated.previousExpiresAt.toISOString(),
        };
      },
    );
  };
}
