import type { Config } from '@voxline/config';
import { parseList } from '@voxline/config';
import {
  claimDeliveryAttempt,
  type Database,
  type DeliveryContext,
  disableWebhookEndpoint,
  type Executor,
  finishDelivery,
  getDeliveryContext,
  insertWebhookAttempt,
  markEndpointFailing,
  markEndpointSucceeded,
  scheduleDeliveryRetry,
  type WebhookDelivery,
} from '@voxline/db';
import type { Logger } from '@voxline/logger';
import { catalog, enqueue, type Queues } from '@voxline/queue';
import type { Dispatcher } from 'undici';
import { urlForLog } from './log-url.js';
import { nextRetryDelay, parseRetrySchedule, type RetryPlan } from './schedule.js';
import { type SendResult, sendWebhook } from './send.js';
import { signingSecrets, signWebhook } from './sign.js';
import {
  assertPublicTarget,
  boundedResolver,
  type HostResolver,
  parseAllowlist,
  type TargetAllowlist,
  UnsafeTargetError,
} from './target-guard.js';

export interface DeliverySettings {
  timeoutMs: number;
  plan: RetryPlan;
  allowlist: TargetAllowlist;
  disableAfterMs: number;
  /** DNS_LOOKUP_TIMEOUT_MS: the resolver's bound on one host lookup. */
  dnsTimeoutMs: number;
  /** WEBHOOK_MAX_PENDING_PER_TENANT: a tenant's deliveries with a queue job at once. */
  maxPendingPerTenant: number;
  /** A tenant's attempts in flight at once, across every worker process. */
  maxActivePerTenant: number;
  /** How long an attempt's hold on its tenant's share lasts: past it, a crashed one lapses. */
  attemptLeaseMs: number;
}

// A quarter of one process's delivery concurrency: four tenants whose receivers all hang fill
// a process, one cannot. The cap is global (Redis), so a tenant gains nothing from more
// processes, and a receiver that answers in 100 ms still gets dozens of deliveries a second.
const tenantShare = (workerConcurrency: number) => Math.max(1, Math.ceil(workerConcurrency / 4));

export function deliverySettings(config: Config): DeliverySettings {
  return {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    plan: {
      schedule: parseRetrySchedule(config.WEBHOOK_RETRY_SCHEDULE),
      scale: config.WEBHOOK_SCHEDULE_SCALE,
    },
    allowlist: parseAllowlist(parseList(config.WEBHOOK_ALLOWLIST)),
    disableAfterMs: config.WEBHOOK_DISABLE_AFTER_MS,
    dnsTimeoutMs: config.DNS_LOOKUP_TIMEOUT_MS,
    maxPendingPerTenant: config.WEBHOOK_MAX_PENDING_PER_TENANT,
    maxActivePerTenant: tenantShare(config.WEBHOOK_WORKER_CONCURRENCY),
    // The target check and the request are each bounded by the timeout; the rest is Postgres.
    attemptLeaseMs: 2 * config.WEBHOOK_TIMEOUT_MS + 10_000,
  };
}

/**
 * A tenant's share of the delivery queue (see tenant-lanes.ts). Absent, deliveries are not
 * shared out (tests of one delivery at a time).
 */
export interface AttemptGate {
  /**
   * Whether the delivery is within its tenant's cap of queued deliveries, taking a place if
   * there is room. Jobs queued around the admission (an older producer) are held to the cap too.
   */
  admit(tenantId: string, deliveryId: string): Promise<boolean>;
  /** Holds one of the tenant's attempts in flight; false when it has all it may. */
  acquire(tenantId: string, deliveryId: string): Promise<boolean>;
  release(tenantId: string, deliveryId: string): Promise<void>;
}

export interface DeliveryDeps {
  db: Database;
  queues: Queues;
  settings: DeliverySettings;
  /** From `createWebhookDispatcher`: the guarded, keep-alive agent. */
  dispatcher: Dispatcher;
  logger: Logger;
  /** Bounded and cancellable (createHostResolver); tests point one at their own name server. */
  resolve?: HostResolver;
  gate?: AttemptGate;
}

export type DeliveryOutcome =
  /** Nothing to do: the delivery is gone. */
  | { kind: 'skipped'; reason: 'not_found' }
  /** Nothing to do: the delivery is finished, or another worker holds this attempt. */
  | { kind: 'skipped'; reason: 'not_pending' | 'claimed_elsewhere'; tenantId: string }
  /** Not due yet (a job that fired early, or was queued twice): come back at `until`. */
  | { kind: 'wait'; until: Date; tenantId: string }
  /** The tenant has as many attempts in flight as it may: wait for one of them to end. */
  | { kind: 'busy'; tenantId: string }
  /** Over the tenant's cap of queued deliveries: stays pending in Postgres until admitted. */
  | { kind: 'held'; tenantId: string }
  | { kind: 'succeeded'; attempt: number; statusCode: number; tenantId: string }
  | {
      kind: 'retry';
      tenantId: string;
      attempt: number;
      until: Date;
      errorCode: string;
      error: string;
      /** The target as stored: log it through `urlForLog`. */
      url: string;
    }
  | {
      kind: 'failed';
      tenantId: string;
      attempts: number;
      errorCode: string;
      error: string;
      /** False only for an endpoint its tenant deleted: nobody needs to look at that. */
      deadLettered: boolean;
    };

interface Verdict {
  errorCode: string;
  error: string;
  /** When the next attempt is due; absent when this was the last (the delivery has failed). */
  retryAt?: Date;
}

/**
 * One attempt of one delivery: the domain work behind the `webhook-delivery` queue. Postgres
 * is the record (status, attempts, next_attempt_at, each attempt); the caller turns the outcome
 * into BullMQ moves. Safe to run twice for the same delivery: the attempt is claimed first.
 */
export async function deliverWebhook(
  deps: DeliveryDeps,
  deliveryId: string,
  source: { jobId?: string } = {},
): Promise<DeliveryOutcome> {
  const { db, settings } = deps;
  const context = await getDeliveryContext(db, { id: deliveryId });
  if (!context) return { kind: 'skipped', reason: 'not_found' };
  const { delivery, endpoint } = context;
  const { tenantId } = delivery;
  if (delivery.status !== 'pending') return { kind: 'skipped', reason: 'not_pending', tenantId };
  // The schedule is kept even if a job fires early (clock skew, a duplicate enqueue).
  if (delivery.nextAttemptAt.getTime() > Date.now()) {
    return { kind: 'wait', until: delivery.nextAttemptAt, tenantId };
  }

  const closed = endpoint?.deletedAt
    ? { errorCode: 'ENDPOINT_DELETED', error: 'the endpoint was deleted' }
    : endpoint?.disabledAt
      ? {
          errorCode: 'ENDPOINT_DISABLED',
          error: `the endpoint is disabled: ${endpoint.disabledReason ?? 'no reason given'}`,
        }
      : delivery.attempts >= settings.plan.schedule.length
        ? // Only reached when earlier runs claimed attempts and then crashed before recording.
          { errorCode: 'ATTEMPTS_EXHAUSTED', error: `${delivery.attempts} attempts made` }
        : null;
  if (closed) {
    const ended = { ...closed, attempts: delivery.attempts, lastResult: null };
    if (!(await markFailed(db, delivery, ended))) {
      return { kind: 'skipped', reason: 'not_pending', tenantId };
    }
    return reportFailure(deps, context, source, {
      ...ended,
      deadLetter: closed.errorCode !== 'ENDPOINT_DELETED',
    });
  }

  if (deps.gate && !(await deps.gate.admit(tenantId, delivery.id))) {
    return { kind: 'held', tenantId };
  }
  if (deps.gate && !(await deps.gate.acquire(tenantId, delivery.id))) {
    return { kind: 'busy', tenantId };
  }
  try {
    return await attemptAndRecord(deps, context, source);
  } finally {
    await deps.gate?.release(tenantId, delivery.id);
  }
}

/** Claims, makes and records one attempt of a pending, due delivery to a live target. */
async function attemptAndRecord(
  deps: DeliveryDeps,
  context: DeliveryContext,
  source: { jobId?: string },
): Promise<DeliveryOutcome> {
  const { db, settings } = deps;
  const { delivery, endpoint } = context;
  const { tenantId } = delivery;
  const claimed = await claimDeliveryAttempt(db, {
    tenantId,
    id: delivery.id,
    attempts: delivery.attempts,
  });
  if (!claimed) return { kind: 'skipped', reason: 'claimed_elsewhere', tenantId };
  const attempt = claimed.attempts;

  const startedAt = new Date();
  const result = await attemptOnce(deps, context, startedAt);
  const finishedAt = new Date();

  // The attempt and what follows from it (the delivery's and endpoint's new state) commit
  // together: a crash leaves either the attempt unrecorded (it is made again) or all of it.
  const verdict = await db.transaction(async (tx): Promise<Verdict | null> => {
    const final = async (v: Verdict): Promise<Verdict> => {
      await markFailed(tx, delivery, { ...v, attempts: attempt, lastResult: result });
      return v;
    };
    await insertWebhookAttempt(tx, {
      tenantId,
      deliveryId: delivery.id,
      attempt,
      statusCode: result.statusCode,
      durationMs: result.durationMs,
      responseExcerpt: result.responseExcerpt,
      error: result.error,
      createdAt: startedAt,
    });
    if (result.ok) {
      await finishDelivery(tx, {
        tenantId,
        id: delivery.id,
        status: 'succeeded',
        statusCode: result.statusCode,
        error: null,
        at: finishedAt,
      });
      if (endpoint) {
        await markEndpointSucceeded(tx, { tenantId, id: endpoint.id, at: finishedAt });
      }
      return null;
    }

    const errorCode =
      result.errorCode === 'HTTP_ERROR' ? `HTTP_${result.statusCode}` : (result.errorCode ?? '');
    const error = result.error ?? 'failed';
    // 410 Gone: the receiver says this URL is over. Standard Webhooks: stop sending to it.
    if (result.statusCode === 410) {
      if (endpoint) {
        await disableWebhookEndpoint(tx, {
          tenantId,
          id: endpoint.id,
          reason: `the receiver answered 410 Gone on ${finishedAt.toISOString()}`,
          at: finishedAt,
        });
      }
      return final({ errorCode: 'GONE', error });
    }
    if (result.permanent) return final({ errorCode, error });
    if (endpoint) {
      const health = await markEndpointFailing(tx, {
        tenantId,
        id: endpoint.id,
        at: finishedAt,
      });
      const since = health?.failingSince ?? finishedAt;
      if (finishedAt.getTime() - since.getTime() >= settings.disableAfterMs) {
        await disableWebhookEndpoint(tx, {
          tenantId,
          id: endpoint.id,
          reason: `no successful delivery since ${since.toISOString()}; last error: ${error}`,
          at: finishedAt,
        });
        return final({ errorCode: 'ENDPOINT_DISABLED', error });
      }
    }
    const delay = nextRetryDelay(settings.plan, attempt, result.retryAfterMs);
    if (delay === null) {
      return final({ errorCode, error: `gave up after ${attempt} attempts: ${error}` });
    }
    const retryAt = new Date(finishedAt.getTime() + delay);
    await scheduleDeliveryRetry(tx, {
      tenantId,
      id: delivery.id,
      nextAttemptAt: retryAt,
      statusCode: result.statusCode,
      error,
    });
    return { errorCode, error, retryAt };
  });

  if (verdict === null) {
    return { kind: 'succeeded', attempt, statusCode: result.statusCode ?? 0, tenantId };
  }
  if (verdict.retryAt) {
    return {
      kind: 'retry',
      tenantId,
      attempt,
      until: verdict.retryAt,
      errorCode: verdict.errorCode,
      error: verdict.error,
      url: delivery.url,
    };
  }
  return reportFailure(deps, context, source, {
    errorCode: verdict.errorCode,
    error: verdict.error,
    attempts: attempt,
    lastResult: result,
    deadLetter: true,
  });
}

type AttemptResult = Omit<SendResult, 'errorCode'> & {
  errorCode: SendResult['errorCode'] | 'INTERNAL_ERROR';
  /** The URL itself is unusable: no later attempt can do better. */
  permanent: boolean;
};

/** Checks the target, signs and sends. Never throws: every failure is an attempt to record. */
async function attemptOnce(
  deps: DeliveryDeps,
  { delivery, event, tenant, retiredSecrets }: DeliveryContext,
  startedAt: Date,
): Promise<AttemptResult> {
  const started = performance.now();
  try {
    await assertPublicTarget(
      delivery.url,
      deps.settings.allowlist,
      boundedResolver(deps.settings.timeoutMs, deps.resolve),
    );
    // The stored envelope, serialised the same way on every attempt: the signature covers
    // exactly these bytes.
    const body = JSON.stringify(event.payload);
    const headers = signWebhook({
      id: event.id,
      timestamp: startedAt,
      body,
      secrets: signingSecrets(tenant.webhookSecret, retiredSecrets, startedAt),
    });
    const result = await sendWebhook(deps.dispatcher, {
      url: delivery.url,
      headers: { ...headers },
      body,
      timeoutMs: deps.settings.timeoutMs,
    });
    return { ...result, permanent: false };
  } catch (error) {
    const unsafe = error instanceof UnsafeTargetError;
    if (!unsafe) {
      deps.logger.error(
        { err: error, deliveryId: delivery.id, url: urlForLog(delivery.url) },
        'webhook attempt crashed',
      );
    }
    return {
      ok: false,
      statusCode: null,
      durationMs: Math.round(performance.now() - started),
      responseExcerpt: null,
      retryAfterMs: null,
      errorCode: unsafe ? 'UNSAFE_TARGET' : 'INTERNAL_ERROR',
      error: unsafe ? error.message : `internal error: ${(error as Error).message}`,
      permanent: unsafe && error.permanent,
    };
  }
}

interface FailureRecord {
  errorCode: string;
  error: string;
  attempts: number;
  lastResult: AttemptResult | null;
}

/** Ends a pending delivery as failed; false when it was no longer pending. */
async function markFailed(
  db: Executor,
  delivery: Pick<WebhookDelivery, 'id' | 'tenantId'>,
  failure: FailureRecord,
): Promise<boolean> {
  const done = await finishDelivery(db, {
    tenantId: delivery.tenantId,
    id: delivery.id,
    status: 'failed',
    statusCode: failure.lastResult?.statusCode ?? null,
    error: `${failure.errorCode}: ${failure.error}`,
    at: new Date(),
  });
  return done !== null;
}

/**
 * After a delivery has failed for good: a record on the dead-letter queue (unless told
 * otherwise) and a log line. A crash before this leaves the delivery failed in Postgres, which
 * is the record; the queue entry is what operators browse.
 */
async function reportFailure(
  deps: DeliveryDeps,
  { delivery, event, endpoint }: DeliveryContext,
  source: { jobId?: string },
  params: FailureRecord & { deadLetter: boolean },
): Promise<DeliveryOutcome> {
  if (params.deadLetter) {
    const jobId = source.jobId ?? delivery.id;
    await enqueue(deps.queues, 'deadLetter', [
      {
        // Unique per failure: a redelivered delivery can fail again and must be recorded again.
        jobId: `webhook-${delivery.id}-${Date.now()}`,
        data: {
          sourceQueue: catalog.webhookDelivery.queue,
          jobId,
          deliveryId: delivery.id,
          tenantId: delivery.tenantId,
          attempts: params.attempts,
          errorCode: params.errorCode,
          errorMessage: params.error,
          lastResponse: {
            eventId: event.id,
            eventType: event.type,
            endpointId: endpoint?.id ?? null,
            statusCode: params.lastResult?.statusCode ?? null,
            durationMs: params.lastResult?.durationMs ?? null,
            excerpt: params.lastResult?.responseExcerpt ?? null,
            error: params.lastResult?.error ?? null,
          },
        },
      },
    ]);
  }
  deps.logger.warn(
    {
      deliveryId: delivery.id,
      eventId: event.id,
      endpointId: endpoint?.id ?? null,
      url: urlForLog(delivery.url),
      attempts: params.attempts,
      code: params.errorCode,
    },
    `webhook delivery failed: ${params.error}`,
  );
  return {
    kind: 'failed',
    tenantId: delivery.tenantId,
    attempts: params.attempts,
    errorCode: params.errorCode,
    error: params.error,
    deadLettered: params.deadLetter,
  };
}
