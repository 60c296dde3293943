import { z } from 'zod';

/** How workers pace, retry and recover clone jobs. */
export const workerEnv = z.object({
  // Each active clone job is a short step (one HTTP call), so a high number is cheap.
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  // How long a worker's claim on an active step lasts without renewal; a worker that died is
  // noticed (and its step run again elsewhere) within about twice this.
  JOB_LOCK_MS: z.coerce.number().int().min(500).default(30_000),
  SUBMIT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  RETRY_BASE_DELAY_MS: z.coerce.number().int().min(0).default(2_000),
  RETRY_MAX_DELAY_MS: z.coerce.number().int().min(0).default(120_000),
  // When upstream itself says it is full (421/1520: other clients share the key), the job
  // tries again after this long (plus jitter), without spending an attempt.
  SLOT_WAIT_MS: z.coerce.number().int().min(10).default(1_000),
  // A job waiting for a local slot is woken when one frees; this is only the safety net for a
  // wake-up that was lost (a slot reclaimed from a dead lease frees nobody).
  SLOT_PARK_MS: z.coerce.number().int().min(100).default(30_000),
  // A slot's lease covers the time until the job's next step plus this margin; a lease
  // that is not renewed (its job vanished) is reclaimed after that.
  SLOT_LEASE_MARGIN_MS: z.coerce.number().int().min(1_000).default(60_000),
  POLL_MIN_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
  POLL_MAX_INTERVAL_MS: z.coerce.number().int().min(10).default(30_000),
  // Official clients stop polling after 600-1800 s; a task older than this is failed.
  POLL_DEADLINE_MS: z.coerce.number().int().min(1_000).default(1_800_000),
  POLL_MAX_QUERY_ERRORS: z.coerce.number().int().min(0).default(5),
  // While callbacks keep coming for a kind of task, its polls are only the safety net: the
  // adaptive delay is multiplied by this. Back to 1 when no callback came for this long.
  CALLBACK_POLL_STRETCH: z.coerce.number().min(1).max(100).default(4),
  CALLBACK_TRUST_WINDOW_MS: z.coerce.number().int().min(1_000).default(600_000),
  // Downloads of a result into the audio store, each a step of its own with backoff.
  ARCHIVE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  // A crash between the upstream accepting a task and us storing its id: resubmit (may pay
  // twice, counted) or fail the job for a human to review.
  AMBIGUOUS_SUBMIT_POLICY: z.enum(['resubmit', 'fail']).default('resubmit'),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  // A job younger than this may still be on its way into Redis from the API's outbox.
  RECONCILE_GRACE_MS: z.coerce.number().int().min(0).default(60_000),
  // Prometheus scrapes each worker process here (GET /metrics); 0 turns it off.
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
});
