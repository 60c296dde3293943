/**
 * Fair shares of one upstream account's slots between tenants: the lease semaphore of
 * UpstreamSlots plus per-tenant waiting lines, with each hand-over decided by one Lua script
 * (start-time fair queuing, weighted, charging expected upstream seconds).
 */
export { type FairDecisionCost, measureFairDecision } from './bench.js';
export {
  type AcquireResult,
  FairSlots,
  type FairSlotsOptions,
  fairWaitingByTenant,
  type Grant,
} from './fair-slots.js';
export { handOver } from './hand-over.js';
export { type FairSlotKeys, fairSlotKeys } from './keys.js';
export { type FairWaiter, fairOrderKey } from './waiter.js';
