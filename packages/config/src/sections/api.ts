import { z } from 'zod';

/** The producer API, its admin surface and its limits. */
export const apiEnv = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Full access to admin routes and Bull Board. Required in production and whenever HOST is not
  // a loopback address: the default is published in this repository, so it only guards a
  // developer's own machine.
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
  // The HTTP server's timeouts: without them a client holding a valid key can keep connections
  // (and their buffers) open for ever, e.g. by dribbling a 16 MB body a byte at a time.
  // Headers are a few hundred bytes: a client that cannot send them in this long is stalling.
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  // The whole request, headers and body, must arrive within this: the largest body
  // (BODY_LIMIT_BYTES, 16 MiB) fits at about 1.2 Mbit/s. It does not count the handler's time.
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  // A socket with no traffic for this long is closed. A handler that works silently counts as no
  // traffic, so this stays above the slowest one (a 10,000-line batch is written in seconds).
  HTTP_CONNECTION_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
  // An idle kept-alive connection is closed after this. It must stay well above the idle time of
  // every client and proxy that reuses connections (undici and Node's agent: 4-5 s; AWS ALB:
  // 60 s): a client that sends on a connection the server is closing gets a reset, not an answer.
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(72_000),
  // Reference audio URLs are fetched by RunningHub, not by us, but a private address there is
  // still a sign of a mistake or a probe; hosts here are exempt from that check.
  AUDIO_URL_ALLOWLIST: z.string().default(''),
  // RunningHub documents no maximum for `text`; an unbounded one would let a single line hold
  // the whole body. Characters are UTF-16 code units, as JavaScript counts them.
  CLONE_TEXT_MAX_CHARS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  // `metadata` is the caller's own JSON, stored and echoed back (and in every webhook): bounded
  // so it cannot grow rows and events without limit.
  METADATA_MAX_BYTES: z.coerce.number().int().min(2).max(1_048_576).default(16_384),
  // The API's public address: clones' `audio.url` (and their webhooks) point at voxline's own
  // copy under it. Unset, http://HOST:PORT.
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
});
