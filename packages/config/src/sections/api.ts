import { z } from 'zod';

/** The producer API, its admin surface and its limits. */
export const apiEnv = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Full access to admin routes and Bull Board. Required in production; a fixed value is
  // only acceptable on a developer's own machine.
  ADMIN_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .default('voxline-dev-admin-token'),
  // Read-only Bull Board access (Basic user `viewer`, or Bearer) and /metrics, for people who
  // watch but must not retry or delete jobs.
  ADMIN_READONLY_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // A scrape-only Bearer token for /metrics, so Prometheus need not hold an admin credential.
  // /metrics also accepts ADMIN_TOKEN and ADMIN_READONLY_TOKEN; it never answers anonymously.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  BATCH_MAX_LINES: z.coerce.number().int().min(1).max(100_000).default(10_000),
  // 10,000 lines of a few hundred characters each fit well under this; larger bodies are refused
  // before parsing so a hostile client cannot make the API buffer gigabytes.
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  // Reference audio URLs are fetched by RunningHub, not by us, but a private address there is
  // still a sign of a mistake or a probe; hosts here are exempt from that check.
  AUDIO_URL_ALLOWLIST: z.string().default(''),
  // RunningHub documents no maximum for `text`; an unbounded one would let a single line hold
  // the whole body. Characters are UTF-16 code units, as JavaScript counts them.
  CLONE_TEXT_MAX_CHARS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  // `metadata` is the caller's own JSON, stored and echoed back (and in every webhook): bounded
  // so it cannot grow rows and events without limit.
  METADATA_MAX_BYTES: z.coerce.number().int().min(2).max(1_048_576).default(16_384),
});
