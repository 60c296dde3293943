// The event vocabulary is the public contract's; re-exported for the worker and receivers.
export { EVENT_TYPES, type EventEnvelope, type EventType } from '@voxline/contract';
export {
  type DeliveryDeps,
  type DeliveryOutcome,
  type DeliverySettings,
  deliverWebhook,
  deliverySettings,
} from './deliver.js';
export { urlForLog } from './log-url.js';
export {
  completeBatch,
  type EventInput,
  enqueueDeliveries,
  recordBatchCompleted,
  recordCloneEvent,
  recordCloneEvents,
  recordEvent,
  recordEvents,
  requeueDeliveries,
  requeueStrandedDeliveries,
} from './outbox.js';
export {
  JITTER,
  nextRetryDelay,
  parseRetryAfter,
  parseRetrySchedule,
  type RetryPlan,
} from './schedule.js';
export {
  createWebhookDispatcher,
  RESPONSE_EXCERPT_BYTES,
  type SendErrorCode,
  type SendResult,
  sendWebhook,
} from './send.js';
export { type SignedHeaders, signingSecrets, signWebhook } from './sign.js';
export {
  assertPublicTarget,
  boundedResolver,
  type CheckedTarget,
  createGuardedLookup,
  type HostResolver,
  isPrivateAddress,
  parseAllowlist,
  type TargetAllowlist,
  UnsafeTargetError,
} from './target-guard.js';
export { recordVoiceEvent } from './voice-events.js';
