import { z } from 'zod';
import { EVENT_TYPES } from '../events.js';
import { DELIVERY_STATUSES } from '../statuses.js';
import { cursorQuery, sinceQuery } from './common.js';

/** Webhook endpoints, deliveries and the signing secret: bodies, queries and answers. */

const URL_MAX_CHARS = 2_048;
// Each delivery carries up to a schedule's worth of attempts: pages are smaller than elsewhere.
const MAX_DELIVERIES_PAGE = 200;

export const eventTypeSchema = z.enum(EVENT_TYPES, {
  error: `event types are ${EVENT_TYPES.join(', ')}`,
});

export const createEndpointBody = z.strictObject(
  {
    url: z
      .url({ protocol: /^https?$/, error: 'url must be an http(s) URL' })
      .max(URL_MAX_CHARS, `url must be at most ${URL_MAX_CHARS} characters`),
    // All event types when omitted.
    event_types: z
      .array(eventTypeSchema, { error: 'event_types must be an array of event types' })
      .min(1, 'event_types must not be empty')
      .max(EVENT_TYPES.length)
      .optional(),
    description: z.string().max(500, 'description must be at most 500 characters').optional(),
  },
  { error: 'body must be a JSON object' },
);

export const deliveriesQuery = z.strictObject({
  status: z
    .enum(DELIVERY_STATUSES, { error: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
    .optional(),
  event_type: eventTypeSchema.optional(),
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

export const endpointResponse = z.object({
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

export const attemptResponse = z.object({
  attempt: z.number().int(),
  status_code: z.number().int().nullable(),
  duration_ms: z.number().int(),
  response_excerpt: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
});

export const deliveryResponse = z.object({
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

export const secretResponse = z.object({
  object: z.literal('webhook_secret'),
  /** Shown once: keep it in the receiver's configuration. */
  secret: z.string(),
  rotated_at: z.string(),
  /** Until then messages carry a signature with the previous secret too. */
  previous_secret_valid_until: z.string(),
});

export const endpointListResponse = z.object({ data: z.array(endpointResponse) });

export const deliveryListResponse = z.object({
  data: z.array(deliveryResponse),
  next_cursor: z.string().nullable(),
});
