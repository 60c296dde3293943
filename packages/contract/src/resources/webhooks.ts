import type { z } from 'zod';
import type { deliveryResponse, endpointResponse, secretResponse } from '../schemas/webhooks.js';
import type { DeliveryRow, WebhookEndpointRow } from './rows.js';

export function endpointResource(endpoint: WebhookEndpointRow): z.infer<typeof endpointResponse> {
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

export function deliveryResource(item: DeliveryRow): z.infer<typeof deliveryResponse> {
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

/** A secret just rotated in: the only answer that carries it. */
export function secretResource(rotated: {
  secret: string;
  rotatedAt: Date;
  previousExpiresAt: Date;
}): z.infer<typeof secretResponse> {
  return {
    object: 'webhook_secret',
    secret: rotated.secret,
    rotated_at: rotated.rotatedAt.toISOString(),
    previous_secret_valid_until: rotated.previousExpiresAt.toISOString(),
  };
}
