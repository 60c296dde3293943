import { z } from 'zod';

/** What one tenant may take of a deployment several studios share. */
export const tenantsEnv = z.object({
  // 32 bytes, base64: seals tenants' own RunningHub keys at rest (AES-256-GCM). Unset, a tenant
  // cannot be given its own key (the admin API refuses it). Never logged.
  TENANT_KEY_ENCRYPTION_KEY: z
    .string()
    .refine(
      (value) => Buffer.from(value, 'base64').length === 32,
      'must be 32 bytes in base64 (openssl rand -base64 32)',
    )
    .transform((value) => Buffer.from(value, 'base64'))
    .optional(),
  // Requests per tenant per minute before 429 (a tenant's own setting overrides it).
  TENANT_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  // Lines not yet terminal per tenant: a batch (or redrive) that would go over is refused 429.
  TENANT_MAX_PENDING_LINES: z.coerce.number().int().min(1).default(100_000),
  // Webhook deliveries pending per tenant: beyond it, its new events wait in Postgres and are
  // queued as its backlog drains, so one tenant's dead receiver cannot fill the queue.
  WEBHOOK_MAX_PENDING_PER_TENANT: z.coerce.number().int().min(1).default(10_000),
  // Host checks (SSRF guard) resolve names with a cancellable resolver: a lookup slower than this
  // fails the check instead of holding one of libuv's four threads.
  DNS_LOOKUP_TIMEOUT_MS: z.coerce.number().int().min(50).default(3_000),
  // Distinct host names one request may make voxline resolve (a 10,000-line batch of distinct
  // hosts would otherwise be 10,000 lookups).
  MAX_HOSTS_PER_REQUEST: z.coerce.number().int().min(1).default(20),
  // The weighted fair scheduler of upstream slots; off, slots go by priority then arrival
  // (the bench compares both).
  FAIR_SHARES: z.stringbool().default(true),
});
