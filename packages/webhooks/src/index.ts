// The event vocabulary is the public contract's; re-exported for the worker and receivers, with
// how resources in events are written (the API's public address, for clones' audio links).
export {
  type CloneViewOptions,
  EVENT_TYPES,
  type EventEnvelope,
  type EventType,
  publicBaseUrl,
} from '@voxline/contract';
export {
  type AdmissionDeps,
  admitDeliveries,
  type LaneReport,
  lanesOf,
  leaveLane,
  reconcileLanes,
  refillLane,
} from './admission.js';
export type { AttemptGate } from './deliver.js';
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
} from './outbox.js';
export {
  createHostResolver,
  DnsTimeoutError,
  type HostResolverOptions,
  parseHostsFile,
} from './resolver.js';
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
export { TenantLanes } from './tenant-lanes.js';
export { recordVoiceEvent } from './voice-events.js';
