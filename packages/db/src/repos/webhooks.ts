import { and, arrayContains, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { newId } from '../ids.js';
import { webhookDeliveries } from '../schema/webhook-deliveries.js';
import { type WebhookEndpoint, webhookEndpoints } from '../schema/webhook-endpoints.js';
import { webhookEvents } from '../schema/webhook-events.js';

export async function insertWebhookEvents(
  db: Executor,
  rows: Array<typeof webhookEvents.$inferInsert>,
): Promise<void> {
  if (rows.length) await db.insert(webhookEvents).values(rows);
}

/** A tenant's live endpoints subscribed to an event type. */
export async function findSubscribedEndpoints(
  db: Executor,
  params: { tenantId: string; type: string },
): Promise<WebhookEndpoint[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.tenantId, params.tenantId),
        isNull(webhookEndpoints.disabledAt),
        isNull(webhookEndpoints.deletedAt),
        arrayContains(webhookEndpoints.eventTypes, [params.type]),
      ),
    );
}

export async function insertDeliveries(
  db: Executor,
  rows: Array<{ tenantId: string; eventId: string; endpointId: string | null; url: string }>,
): Promise<string[]> {
  if (rows.length === 0) return [];
  const withIds = rows.map((row) => ({ id: newId(), ...row }));
  await db.insert(webhookDeliveries).values(withIds);
  return withIds.map((row) => row.id);
}
