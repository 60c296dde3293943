import type { Config } from '@voxline/config';
import type { Database } from '@voxline/db';
import type { Logger } from '@voxline/logger';
import type { Metrics } from '@voxline/metrics';
import { catalog, parsePayload, type Queues } from '@voxline/queue';
import {
  createWebhookDispatcher,
  type DeliveryDeps,
  deliverWebhook,
  deliverySettings,
  type HostResolver,
  urlForLog,
} from '@voxline/webhooks';
import type { Job } from 'bullmq';
import { settle } from '../step.js';
import { delay, fail } from '../step-outcome.js';

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
  const dispatcher = createWebhookDispatcher({
    allowlist: settings.allowlist,
    timeoutMs: settings.timeoutMs,
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
  });
  const logger = deps.logger.child({ queue: catalog.webhookDelivery.queue });
  const service: DeliveryDeps = {
    db: deps.db,
    queues: deps.queues,
    settings,
    dispatcher,
    logger,
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
  };

  const processor = async (job: Job, token?: string): Promise<void> => {
    const { deliveryId } = parsePayload('webhookDelivery', job.data);
    const outcome = await deliverWebhook(service, deliveryId, { jobId: job.id });
    if (outcome.kind !== 'skipped' && outcome.kind !== 'wait') {
      deps.metrics?.webhookAttempts.inc({ outcome: outcome.kind });
    }
    switch (outcome.kind) {
      case 'succeeded':
        logger.debug({ deliveryId, attempt: outcome.attempt }, 'webhook delivered');
        return;
      case 'skipped':
        logger.debug({ deliveryId, reason: outcome.reason }, 'webhook delivery skipped');
        return;
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
        return settle(job, token, fail(outcome.errorCode, outcome.error));
    }
  };
  return Object.assign(processor, { close: () => dispatcher.close() });
}
