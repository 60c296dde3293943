/**
 * A line waiting for an upstream slot, as the submit step (or the reconciler, from Postgres)
 * describes it. The fair scheduler keeps it in Redis as one sorted-set member.
 */
export interface FairWaiter {
  tenant: string;
  /** The parked submit job a grant promotes. */
  bullJobId: string;
  /** The lease member the grant takes for it (slotHolder: one run of one line). */
  holder: string;
  /** Lower first, BullMQ's convention: interactive lines (1) before batch lines (10). */
  priority: number;
  /** Within a priority, lines go in this key's byte order (see fairOrderKey). */
  orderKey: string;
  /** Expected upstream seconds of the task: what a grant charges the tenant. */
  costSeconds: number;
  /** The tenant's weight (admin, default 1); the latest waiter's weight is the tenant's. */
  weight: number;
}

// BullMQ's highest priority is 2^21; seven digits keep every priority the same width, so
// byte order is numeric order.
const PRIORITY_DIGITS = 7;
const MAX_PRIORITY = 10 ** PRIORITY_DIGITS - 1;
// Field separator inside a member: the lowest byte, so a shorter key sorts before its extensions.
export const SEPARATOR = '\u0000';

/**
 * An order key that sorts by creation time, then index: a batch line's key is its batch's
 * creation time and its line index (batch then line order); a single line's, its own creation.
 */
export function fairOrderKey(createdAt: Date | number, index = 0): string {
  const ms = typeof createdAt === 'number' ? createdAt : createdAt.getTime();
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`createdAt: bad time ${ms}`);
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`index: bad index ${index}`);
  return `${String(ms).padStart(15, '0')}:${String(index).padStart(10, '0')}`;
}

function text(field: keyof FairWaiter, value: string): string {
  if (value.length === 0 || value.includes(SEPARATOR)) {
    throw new RangeError(`${field}: must be non-empty and contain no NUL`);
  }
  return value;
}

function positive(field: keyof FairWaiter, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${field}: must be > 0`);
  return value;
}

/**
 * The member a waiter is stored as: tenant, priority, order key, job id, holder, cost. The first
 * four give the order (a tenant's lines are contiguous, its next one first); the last two ride
 * along so a grant needs no other lookup.
 */
export function waiterMember(waiter: FairWaiter): string {
  const { priority } = waiter;
  if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
    throw new RangeError(`priority: must be an integer in 0..${MAX_PRIORITY}`);
  }
  return [
    text('tenant', waiter.tenant),
    String(priority).padStart(PRIORITY_DIGITS, '0'),
    text('orderKey', waiter.orderKey),
    text('bullJobId', waiter.bullJobId),
    text('holder', waiter.holder),
    String(positive('costSeconds', waiter.costSeconds)),
  ].join(SEPARATOR);
}

/** ARGV of one waiter for the fair scripts: tenant, job id, holder, member, weight. */
export function waiterArgs(waiter: FairWaiter): string[] {
  const member = waiterMember(waiter);
  return [
    waiter.tenant,
    waiter.bullJobId,
    waiter.holder,
    member,
    String(positive('weight', waiter.weight)),
  ];
}
