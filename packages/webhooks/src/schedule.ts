/**
 * When a failed delivery is tried again. The schedule is a list of delays in seconds, each
 * counted from the end of the previous attempt; entry 0 is the first attempt (immediate), so
 * a schedule of n entries allows n attempts. Standard Webhooks recommends
 * 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
 */

/** ±10%: deliveries that failed together (a receiver outage) do not all come back together. */
export const JITTER = 0.1;

export function parseRetrySchedule(text: string): number[] {
  const seconds = text.split(',').map((item) => Number(item.trim()));
  if (seconds.length === 0 || seconds.some((s) => !Number.isFinite(s) || s < 0)) {
    throw new Error(`invalid retry schedule: ${text}`);
  }
  return seconds;
}

export interface RetryPlan {
  /** Delays in seconds, entry i before attempt i + 1. */
  schedule: number[];
  /** Divides every scheduled delay (tests compress a day into seconds). Not `retry-after`. */
  scale: number;
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based), or null when it was
 * the last one. A `retry-after` from the receiver wins when it asks for longer, capped at the
 * longest step of the schedule so that a receiver cannot park a delivery for ever.
 */
export function nextRetryDelay(
  plan: RetryPlan,
  attempt: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number | null {
  const seconds = plan.schedule[attempt];
  if (seconds === undefined) return null;
  const scheduled = ((seconds * 1_000) / plan.scale) * (1 - JITTER + random() * 2 * JITTER);
  const cap = Math.max(...plan.schedule) * 1_000;
  const asked = retryAfterMs === null ? 0 : Math.min(retryAfterMs, cap);
  return Math.round(Math.max(scheduled, asked));
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date
 * (RFC 9110 §10.2.3). Null when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}
