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
  // Read-only Bull Board access for people who watch but must not retry or delete jobs.
  ADMIN_READONLY_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
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
});
