/**
 * Upstream slots: how many tasks an account may have running at RunningHub at once. Acquire,
 * hold (lease renewal), release-and-wake, the waiters, key names and the Lua script all live
 * here; the worker, the API's metrics and the tests use only these exports.
 */
export { accountOf } from './accounts.js';
export { DEFAULT_ACCOUNT, type SlotKeys, slotHolder, slotKeys } from './keys.js';
export { slotsInUse, UpstreamSlots, type UpstreamSlotsOptions } from './upstream-slots.js';
