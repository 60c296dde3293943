import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { newId } from '../ids.js';
import type { DeliveryStatus } from '../schema/enums.js';
import {
  type RetiredWebhookSecret,
  retiredWebhookSecrets,
} from '../schema/retired-webhook-secrets.js';
import { type Tenant, tenants } from '../schema/tenants.js';
import { type WebhookAttempt, webhookAttempts } from '../schema/webhook-attempts.js';
import { type WebhookDelivery, webhookDeliveries } from '../schema/webhook-deliveries.js';
import { type WebhookEndpoint, webhookEndpoints } from '../schema/webhook-endpoints.js';
import { type WebhookEvent, webhookEvents } from '../schema/webhook-events.js';

/* ---------------------------------------------------------------- sending ---------------- */

/** Everything one delivery attempt needs: the row, the signed body, the secrets, the endpoint. */
export interface DeliveryContext {
  delivery: WebhookDelivery;
  event: WebhookEvent;
  tenant: Tenant;
  /** Null for a clone's or batch's own `webhook_url`. */
  endpoint: WebhookEndpoint | null;
  /** The tenant's secrets that rotations replaced; each signs until its own expiry. */
  retiredSecrets: Array<Pick<RetiredWebhookSecret, 'secret' | 'expiresAt'>>;
}

/**
 * The delivery worker's entry point: its job names a delivery id only, so this one read is by
 * id, and every write that follows is scoped to the tenant it returns.
 */
export async function getDeliveryContext(
  db: Executor,
  params: { id: string },
): Promise<DeliveryContext | null> {
  const [row] = await db
    .select({
      delivery: webhookDeliveries,
      event: webhookEvents,
      tenant: tenants,
      endpoint: webhookEndpoints,
    })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .innerJoin(tenants, eq(tenants.id, webhookDeliveries.tenantId))
    .leftJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, params.id));
  if (!row) return null;
  const retiredSecrets = await db
    .select({ secret: retiredWebhookSecrets.secret, expiresAt: retiredWebhookSecrets.expiresAt })
    .from(retiredWebhookSecrets)
    .where(
      and(
        eq(retiredWebhookSecrets.tenantId, row.tenant.id),
        gt(retiredWebhookSecrets.expiresAt, sql`now()`),
      ),
    )
    .orderBy(desc(retiredWebhookSecrets.retiredAt));
  return { ...row, retiredSecrets };
}

const ofTenant = (tenantId: string, id: string) =>
  and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.tenantId, tenantId));

const endpointOfTenant = (tenantId: string, id: string) =>
  and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, tenantId));

/**
 * Takes attempt `attempts + 1` of a pending delivery. Conditional on the count read before, so
 * of two workers holding the same delivery (a stalled job re-run, a redelivery racing a retry)
 * exactly one sends; the other gets null.
 */
export async function claimDeliveryAttempt(
  db: Executor,
  params: { tenantId: string; id: string; attempts: number },
): Promise<WebhookDelivery | null> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({ attempts: sql`${webhookDeliveries.attempts} + 1` })
    .where(
      and(
        ofTenant(params.tenantId, params.id),
        eq(webhookDeliveries.status, 'pending'),
        eq(webhookDeliveries.attempts, params.attempts),
      ),
    )
    .returning();
  return row ?? null;
}

/** Records an attempt of one of the tenant's deliveries; false (nothing written) for another's. */
export async function insertWebhookAttempt(
  db: Executor,
  params: Omit<typeof webhookAttempts.$inferInsert, 'id'> & { tenantId: string },
): Promise<boolean> {
  // webhook_attempts has no tenant column: the row is written only through its tenant's delivery.
  const inserted = await db.execute(sql`
    insert into ${webhookAttempts}
      (delivery_id, attempt, status_code, duration_ms, response_excerpt, error, created_at)
    select ${webhookDeliveries.id}, ${params.attempt}, ${params.statusCode ?? null},
           ${params.durationMs}, ${params.responseExcerpt ?? null}, ${params.error ?? null},
           coalesce(${params.createdAt?.toISOString() ?? null}::timestamptz, now())
      from ${webhookDeliveries}
     where ${webhookDeliveries.id} = ${params.deliveryId}
       and ${webhookDeliveries.tenantId} = ${params.tenantId}`);
  return (inserted.rowCount ?? 0) > 0;
}

/** Ends a pending delivery; null when it was no longer pending. */
export async function finishDelivery(
  db: Executor,
  params: {
    tenantId: string;
    id: string;
    status: Exclude<DeliveryStatus, 'pending'>;
    statusCode: number | null;
    error: string | null;
    at: Date;
  },
): Promise<WebhookDelivery | null> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({
      status: params.status,
      lastStatusCode: params.statusCode,
      lastError: params.error,
      completedAt: params.at,
    })
    .where(and(ofTenant(params.tenantId, params.id), eq(webhookDeliveries.status, 'pending')))
    .returning();
  return row ?? null;
}

export async function scheduleDeliveryRetry(
  db: Executor,
  params: {
    tenantId: string;
    id: string;
    nextAttemptAt: Date;
    statusCode: number | null;
    error: string | null;
  },
): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      nextAttemptAt: params.nextAttemptAt,
      lastStatusCode: params.statusCode,
      lastError: params.error,
    })
    .where(and(ofTenant(params.tenantId, params.id), eq(webhookDeliveries.status, 'pending')));
}

/**
 * Pending deliveries that should have been attempted before `olderThan`: their BullMQ job was
 * probably lost (Redis failover, a crash between commit and enqueue). Re-enqueueing them is
 * idempotent, since the job id is the delivery id. Every tenant's: the reconciler's sweep.
 */
export async function findStrandedDeliveries(
  db: Executor,
  params: { olderThan: Date; limit: number },
): Promise<WebhookDelivery[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, 'pending'),
        lt(webhookDeliveries.nextAttemptAt, params.olderThan),
      ),
    )
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(params.limit);
}

/**
 * The stranded deliveries (see findStrandedDeliveries) of every tenant, at most `perTenant` of
 * each, so one tenant with thousands stranded cannot fill a reconciler pass on its own.
 */
export async function findStrandedDeliveriesPerTenant(
  db: Executor,
  params: { olderThan: Date; perTenant: number; limit: number },
): Promise<Array<Pick<WebhookDelivery, 'id' | 'tenantId'>>> {
  const rows = await db.execute<{ id: string; tenant_id: string }>(sql`
    select id, tenant_id from (
      select ${webhookDeliveries.id} as id, ${webhookDeliveries.tenantId} as tenant_id,
             ${webhookDeliveries.nextAttemptAt} as next_attempt_at,
             row_number() over (
               partition by ${webhookDeliveries.tenantId} order by ${webhookDeliveries.nextAttemptAt}
             ) as rank
        from ${webhookDeliveries}
       where ${webhookDeliveries.status} = 'pending'
         and ${webhookDeliveries.nextAttemptAt} < ${params.olderThan.toISOString()}::timestamptz
    ) ranked
     where rank <= ${params.perTenant}
     order by rank, next_attempt_at
     limit ${params.limit}`);
  return rows.rows.map((r) => ({ id: r.id, tenantId: r.tenant_id }));
}

/** Where a tenant's backlog scan stands: the last pending delivery it looked at. */
export interface PendingCursor {
  createdAt: Date;
  id: string;
}

/**
 * A tenant's pending deliveries after `after`, in creation order (the tenant/created index):
 * what refills the tenant's share of the delivery queue as it drains.
 */
export async function listPendingDeliveries(
  db: Executor,
  params: { tenantId: string; after: PendingCursor | null; limit: number },
): Promise<Array<Pick<WebhookDelivery, 'id' | 'createdAt'>>> {
  const conditions = [
    eq(webhookDeliveries.tenantId, params.tenantId),
    eq(webhookDeliveries.status, 'pending'),
  ];
  if (params.after) {
    conditions.push(
      sql`(${webhookDeliveries.createdAt}, ${webhookDeliveries.id}) > (${params.after.createdAt.toISOString()}::timestamptz, ${params.after.id}::uuid)`,
    );
  }
  return db
    .select({ id: webhookDeliveries.id, createdAt: webhookDeliveries.createdAt })
    .from(webhookDeliveries)
    .where(and(...conditions))
    .orderBy(asc(webhookDeliveries.createdAt), asc(webhookDeliveries.id))
    .limit(params.limit);
}

/** The tenant and status of each delivery named (the delivery queue's jobs carry ids only). */
export async function getDeliveryStates(
  db: Executor,
  params: { ids: string[] },
): Promise<Array<Pick<WebhookDelivery, 'id' | 'tenantId' | 'status'>>> {
  if (params.ids.length === 0) return [];
  return db
    .select({
      id: webhookDeliveries.id,
      tenantId: webhookDeliveries.tenantId,
      status: webhookDeliveries.status,
    })
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.id, params.ids));
}

/* ---------------------------------------------------------------- endpoint health -------- */

export async function markEndpointSucceeded(
  db: Executor,
  params: { tenantId: string; id: string; at: Date },
): Promise<void> {
  await db
    .update(webhookEndpoints)
    .set({ lastSuccessAt: params.at, failingSince: null })
    .where(endpointOfTenant(params.tenantId, params.id));
}

/** Notes a failure; the row returned carries when the current run of failures started. */
export async function markEndpointFailing(
  db: Executor,
  params: { tenantId: string; id: string; at: Date },
): Promise<WebhookEndpoint | null> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${params.at})` })
    .where(endpointOfTenant(params.tenantId, params.id))
    .returning();
  return row ?? null;
}

/** Disables a live endpoint with a reason its tenant can read; null if it already was. */
export async function disableWebhookEndpoint(
  db: Executor,
  params: { tenantId: string; id: string; reason: string; at: Date },
): Promise<WebhookEndpoint | null> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ disabledAt: params.at, disabledReason: params.reason })
    .where(and(endpointOfTenant(params.tenantId, params.id), isNull(webhookEndpoints.disabledAt)))
    .returning();
  return row ?? null;
}

/* ---------------------------------------------------------------- tenant API ------------- */

/** The tenant already has as many endpoints as the database allows (see migration 0001). */
export class EndpointLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointLimitError';
  }
}

/** The tenant already has a live endpoint with this URL (see migration 0004). */
export class EndpointExistsError extends Error {
  constructor(
    /** Null only when that endpoint was deleted between the refusal and the look-up. */
    readonly existingId: string | null,
  ) {
    super(
      existingId
        ? `an endpoint with this URL is already registered: ${existingId}`
        : 'an endpoint with this URL is already registered',
    );
    this.name = 'EndpointExistsError';
  }
}

const ENDPOINT_CAP_CONSTRAINT = 'webhook_endpoints_per_tenant_cap';
const ENDPOINT_URL_INDEX = 'webhook_endpoints_tenant_url_uq';

/** The Postgres error (code, constraint) in the error or the causes drizzle wraps it in. */
function pgRefusal(error: unknown, code: string, constraint: string): string | null {
  let current: unknown = error;
  for (let i = 0; i < 5 && current && typeof current === 'object'; i += 1) {
    const e = current as { code?: unknown; constraint?: unknown; message?: unknown };
    if (e.code === code && e.constraint === constraint) return String(e.message);
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Registers an endpoint. The per-tenant cap is a trigger and one URL per tenant a unique
 * index, so concurrent registrations can pass neither; refusals are thrown as
 * EndpointLimitError and EndpointExistsError (with the live endpoint's id). `db` must not be
 * a transaction: the existing endpoint is looked up after the refused insert.
 */
export async function createWebhookEndpoint(
  db: Executor,
  params: { tenantId: string; url: string; eventTypes: string[]; description?: string | null },
): Promise<WebhookEndpoint> {
  try {
    const [row] = await db
      .insert(webhookEndpoints)
      .values({
        id: newId(),
        tenantId: params.tenantId,
        url: params.url,
        eventTypes: params.eventTypes,
        description: params.description ?? null,
      })
      .returning();
    if (!row) throw new Error('webhook endpoint insert returned nothing');
    return row;
  } catch (error) {
    const refusal = pgRefusal(error, '23514', ENDPOINT_CAP_CONSTRAINT);
    if (refusal) throw new EndpointLimitError(refusal);
    if (pgRefusal(error, '23505', ENDPOINT_URL_INDEX) !== null) {
      const [existing] = await db
        .select({ id: webhookEndpoints.id })
        .from(webhookEndpoints)
        .where(
          and(
            eq(webhookEndpoints.tenantId, params.tenantId),
            eq(webhookEndpoints.url, params.url),
            isNull(webhookEndpoints.deletedAt),
          ),
        );
      throw new EndpointExistsError(existing?.id ?? null);
    }
    throw error;
  }
}

/** A tenant's endpoints that are not deleted (disabled ones included: they show why). */
export async function listWebhookEndpoints(
  db: Executor,
  params: { tenantId: string },
): Promise<WebhookEndpoint[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, params.tenantId), isNull(webhookEndpoints.deletedAt)))
    .orderBy(asc(webhookEndpoints.id));
}

export async function getWebhookEndpoint(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<WebhookEndpoint | null> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.id, params.id),
        eq(webhookEndpoints.tenantId, params.tenantId),
        isNull(webhookEndpoints.deletedAt),
      ),
    );
  return row ?? null;
}

/** Soft delete: past deliveries keep pointing at the row. True when something was deleted. */
export async function deleteWebhookEndpoint(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<boolean> {
  const rows = await db
    .update(webhookEndpoints)
    .set({ deletedAt: sql`now()` })
    .where(
      and(
        eq(webhookEndpoints.id, params.id),
        eq(webhookEndpoints.tenantId, params.tenantId),
        isNull(webhookEndpoints.deletedAt),
      ),
    )
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

export interface DeliveryListItem {
  delivery: WebhookDelivery;
  event: Pick<WebhookEvent, 'id' | 'type' | 'cloneJobId' | 'batchId' | 'createdAt'>;
  attempts: WebhookAttempt[];
}

export interface DeliveryFilter {
  tenantId: string;
  status?: DeliveryStatus;
  eventType?: string;
  endpointId?: string;
  cloneJobId?: string;
  batchId?: string;
  /** Deliveries created at or after this time. */
  since?: Date;
  /** Cursor: the last delivery id of the previous page (ids are time-ordered UUIDv7). */
  before?: string;
  /** One delivery by id (with its attempts), still scoped to the tenant. */
  id?: string;
  limit: number;
}

/** Newest first, each with its attempts in the order they were made. */
export async function listWebhookDeliveries(
  db: Executor,
  filter: DeliveryFilter,
): Promise<DeliveryListItem[]> {
  const conditions = [eq(webhookDeliveries.tenantId, filter.tenantId)];
  if (filter.status) conditions.push(eq(webhookDeliveries.status, filter.status));
  if (filter.eventType) conditions.push(eq(webhookEvents.type, filter.eventType));
  if (filter.endpointId) conditions.push(eq(webhookDeliveries.endpointId, filter.endpointId));
  if (filter.cloneJobId) conditions.push(eq(webhookEvents.cloneJobId, filter.cloneJobId));
  if (filter.batchId) conditions.push(eq(webhookEvents.batchId, filter.batchId));
  if (filter.since) conditions.push(gte(webhookDeliveries.createdAt, filter.since));
  if (filter.before) conditions.push(lt(webhookDeliveries.id, filter.before));
  if (filter.id) conditions.push(eq(webhookDeliveries.id, filter.id));
  const rows = await db
    .select({
      delivery: webhookDeliveries,
      event: {
        id: webhookEvents.id,
        type: webhookEvents.type,
        cloneJobId: webhookEvents.cloneJobId,
        batchId: webhookEvents.batchId,
        createdAt: webhookEvents.createdAt,
      },
    })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(...conditions))
    .orderBy(desc(webhookDeliveries.id))
    .limit(filter.limit);
  const attempts = await listDeliveryAttempts(db, {
    tenantId: filter.tenantId,
    deliveryIds: rows.map((r) => r.delivery.id),
  });
  return rows.map((r) => ({ ...r, attempts: attempts.get(r.delivery.id) ?? [] }));
}

/** Attempts of several of a tenant's deliveries, grouped by delivery, oldest first. */
export async function listDeliveryAttempts(
  db: Executor,
  params: { tenantId: string; deliveryIds: string[] },
): Promise<Map<string, WebhookAttempt[]>> {
  const grouped = new Map<string, WebhookAttempt[]>();
  if (params.deliveryIds.length === 0) return grouped;
  const rows = await db
    .select({ attempt: webhookAttempts })
    .from(webhookAttempts)
    .innerJoin(webhookDeliveries, eq(webhookDeliveries.id, webhookAttempts.deliveryId))
    .where(
      and(
        inArray(webhookAttempts.deliveryId, params.deliveryIds),
        eq(webhookDeliveries.tenantId, params.tenantId),
      ),
    )
    .orderBy(asc(webhookAttempts.id));
  for (const { attempt: row } of rows) {
    const list = grouped.get(row.deliveryId) ?? [];
    list.push(row);
    grouped.set(row.deliveryId, list);
  }
  return grouped;
}

export async function getWebhookDelivery(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<WebhookDelivery | null> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(eq(webhookDeliveries.id, params.id), eq(webhookDeliveries.tenantId, params.tenantId)),
    );
  return row ?? null;
}

/**
 * Puts a finished delivery back to pending with a fresh schedule, due now. The event, and so
 * the `webhook-id`, is the same; earlier attempts stay in the history (attempt numbers
 * restart). Null when the delivery is not the tenant's or is still pending: conditional, so
 * two redeliveries at once cannot both restart it, nor one restart a delivery mid-schedule.
 */
export async function resetDeliveryForRedelivery(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<WebhookDelivery | null> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({
      status: 'pending',
      attempts: 0,
      nextAttemptAt: sql`now()`,
      lastStatusCode: null,
      lastError: null,
      completedAt: null,
    })
    .where(and(ofTenant(params.tenantId, params.id), ne(webhookDeliveries.status, 'pending')))
    .returning();
  return row ?? null;
}
