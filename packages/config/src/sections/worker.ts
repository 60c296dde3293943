import { z } from 'zod';

/** How workers pace, retry and recover clone jobs. */
export const workerEnv = z.object({
  // Each active clone job is a short step (one HTTP call), so a high number is cheap.
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  SUBMIT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  RETRY_BASE_DELAY_MS: z.coerce.number().int().min(0).default(2_000),
  RETRY_MAX_DELAY_MS: z.coerce.number().int().min(0).default(120_000),
  // While no slot is free a job re-checks after this long (plus jitter).
  SLOT_WAIT_MS: z.coerce.number().int().min(10).default(2_000),
  // A slot's lease covers the time until the job's next step plus this margin; a lease
  // that is not renewed (its job vanished) is reclaimed after that.
  SLOT_LEASE_MARGIN_MS: z.coerce.number().int().min(1_000).default(60_000),
  POLL_MIN_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
  POLL_MAX_INTERVAL_MS: z.coerce.number().int().min(10).default(30_000),
  // Official clients stop polling after 600-1800 s; a task older than this is failed.
  POLL_DEADLINE_MS: z.coerce.number().int().min(1_000).default(1_800_000),
  POLL_MAX_QUERY_ERRORS: z.coerce.number().int().min(0).default(5),
  // A crash between the upstream accepting a task and us storing its id: resubmit (may pay
  // twice, counted) or fail the job for a human to review.
  AMBIGUOUS_SUBMIT_POLICY: z.enum(['resubmit', 'fail']).default('resubmit'),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  // A job younger than this may still be on its way into Redis from the API's outbox.
  RECONCILE_GRACE_MS: z.coerce.number().int().min(0).default(60_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
});
