export { EVENT_TYPES, type EventEnvelope, type EventType } from './events.js';
export {
  enqueueDeliveries,
  recordBatchCompleted,
  recordCloneEvent,
  recordEvent,
} from './outbox.js';
export {
  assertPublicTarget,
  isPrivateAddress,
  parseAllowlist,
  type TargetAllowlist,
  UnsafeTargetError,
} from './target-guard.js';
