import { z } from 'zod';

/** Delivery of signed webhook callbacks. */
export const webhooksEnv = z.object({
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  // Seconds after the previous attempt, per the Standard Webhooks recommendation:
  // immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'must be comma-separated seconds')
    // Deliveries are queued as soon as their transaction commits: the first attempt is immediate.
    .refine((value) => Number(value.split(',')[0]) === 0, 'must start with 0 (the first attempt)')
    .default('0,5,300,1800,7200,18000,36000,50400,72000,86400'),
  // Divides every delay of the schedule; tests set it high to compress a day into seconds.
  WEBHOOK_SCHEDULE_SCALE: z.coerce.number().min(1).default(1),
  WEBHOOK_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(20),
  // Hosts or CIDRs exempt from the private-address (SSRF) guard, e.g. "127.0.0.0/8,hooks.internal".
  WEBHOOK_ALLOWLIST: z.string().default(''),
  // An endpoint with no successful delivery for this long is disabled.
  WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(5 * 24 * 3_600_000),
  // After a secret is rotated, the old one keeps signing alongside the new one this long.
  WEBHOOK_SECRET_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(24 * 3_600_000),
});
