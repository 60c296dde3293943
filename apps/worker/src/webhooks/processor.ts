import type { Config } from '@voxline/config';
import type { Database } from '@voxline/db';
import type { Logger } from '@voxline/logger';
import type { Metrics } from '@voxline/metrics';
import { catalog, createRedis, parsePayload, type Queues, redisTarget } from '@voxline/queue';
import {
  type AdmissionDeps,
  createHostResolver,
  createWebhookDispatcher,
  type DeliveryDeps,
  deliverWebhook,
  deliverySettings,
  type HostResolver,
  lanesOf,
  leaveLane,
  urlForLog,
} from '@voxline/webhooks';
import type { Job } from 'bullmq';
import { settle } from '../step.js';
import { delay, fail, park } from '../step-outcome.js';

export interface WebhookDeliveryProcessor {
  (job: Job, token?: string): Promise<void>;
  /** Closes the HTTP agent's kept-alive connections; call after the worker has closed. */
  close(): Promise<void>;
}

/**
 * The `webhook-delivery` queue's processor: one attempt per run. A failed attempt moves the
 * job itself to delayed until the next attempt is due (no sleeping, no BullMQ retry budget
 * spent); a delivery that ends failed has been dead-lettered by the service and fails the job
 * with UnrecoverableError, so BullMQ does not retry it.
 *
 * Tenants share the workers fairly (see tenant-lanes.ts): a job whose tenant has its share of
 * attempts in flight parks, delayed, until one of them ends, instead of holding a worker behind
 * a receiver that hangs; a delivery that ends leaves its tenant's lane, and the tenant's
 * deliveries held back in Postgres take its place.
 */
export function createWebhookDeliveryProcessor(deps: {
  config: Config;
  db: Database;
  queues: Queues;
  logger: Logger;
  metrics?: Metrics;
  /** Tests only: resolve host names without the system resolver. */
  resolve?: HostResolver;
}): WebhookDeliveryProcessor {
  const settings = deliverySettings(deps.config);
  const resolve = deps.resolve ?? createHostResolver({ timeoutMs: settings.dnsTimeoutMs });
  const dispatcher = createWebhookDispatcher({
    allowlist: settings.allowlist,
    timeoutMs: settings.timeoutMs,
    resolve,
  });
  const logger = deps.logger.child({ queue: catalog.webhookDelivery.queue });
  // The lanes' own connection (worker role: it rides out an outage like the workers do).
  const redis = createRedis(redisTarget(deps.config), 'worker');
  const admission: AdmissionDeps = {
    db: deps.db,
    queues: deps.queues,
    redis,
    maxPending: settings.maxPendingPerTenant,
  };
  const lanes = lanesOf(admission);
  const service: DeliveryDeps = {
    db: deps.db,
    queues: deps.queues,
    settings,
    dispatcher,
    logger,
    resolve,
    gate: {
      admit: async (tenantId, deliveryId) =>
        (await lanes.admit(tenantId, [deliveryId], settings.maxPendingPerTenant)).length > 0,
      acquire: (tenantId, deliveryId) =>
        lanes.acquire(tenantId, deliveryId, settings.attemptLeaseMs, settings.maxActivePerTenant),
      release: (tenantId, deliveryId) => lanes.release(tenantId, deliveryId),
    },
  };

  const processor = async (job: Job, token?: string): Promise<void> => {
    const { deliveryId } = parsePayload('webhookDelivery', job.data);
    const outcome = await deliverWebhook(service, deliveryId, { jobId: job.id });
    if (outcome.kind === 'succeeded' || outcome.kind === 'retry' || outcome.kind === 'failed') {
      deps.metrics?.webhookAttempts.inc({ outcome: outcome.kind });
    }
    switch (outcome.kind) {
      case 'succeeded':
        logger.debug({ deliveryId, attempt: outcome.attempt }, 'webhook delivered');
        await leaveLane(admission, outcome.tenantId, deliveryId);
        return;
      case 'skipped':
        logger.debug({ deliveryId, reason: outcome.reason }, 'webhook delivery skipped');
        if (outcome.reason === 'not_pending') {
          await leaveLane(admission, outcome.tenantId, deliveryId);
        }
        return;
      case 'held':
        // The job ends; the delivery waits in Postgres and is queued anew as its lane drains.
        logger.debug({ deliveryId }, 'webhook delivery held back: its tenant is at its cap');
        return;
      case 'busy': {
        // Parked for at most a lease: should the attempt it waits on die with its worker,
        // its lease lapses and this job looks again.
        const jobId = job.id ?? deliveryId;
        return settle(
          job,
          token,
          park(settings.attemptLeaseMs, () =>
            lanes.park(outcome.tenantId, jobId, settings.maxActivePerTenant),
          ),
        );
      }
      case 'wait':
        return settle(job, token, delay(outcome.until.getTime() - Date.now()));
      case 'retry':
        logger.info(
          {
            deliveryId,
            url: urlForLog(outcome.url),
            attempt: outcome.attempt,
            code: outcome.errorCode,
            until: outcome.until,
          },
          `webhook attempt failed, retrying: ${outcome.error}`,
        );
        return settle(job, token, delay(outcome.until.getTime() - Date.now()));
      case 'failed':
        await leaveLane(admission, outcome.tenantId, deliveryId);
        return settle(job, token, fail(outcome.errorCode, outcome.error));
    }
  };
  return Object.assign(processor, {
    close: async () => {
      await dispatcher.close();
      redis.disconnect();
    },
  });
}
