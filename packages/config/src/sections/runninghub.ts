import { z } from 'zod';

/** The upstream: RunningHub's OpenAPI v2, or the simulator speaking the same contract. */
export const runninghubEnv = z.object({
  // Unset means "no real upstream": `pnpm start` then runs the simulator and points here.
  RUNNINGHUB_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Required with RUNNINGHUB_BASE_URL, and refused without it: the simulator's default address
  // is plain HTTP, and a real key must never be sent there.
  RUNNINGHUB_API_KEY: z.string().min(1).optional(),
  // RunningHub limits tasks in flight per key (1 to 3 reported for shared keys).
  RUNNINGHUB_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(3),
  RUNNINGHUB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  RUNNINGHUB_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  // The contract's example voice id `Elegant_Man` breaks the documented 8-char minimum.
  CUSTOM_VOICE_ID_MIN_LENGTH: z.coerce.number().int().min(1).max(256).default(8),
  // RunningHub rejects a custom_voice_id it has seen (MiniMax 2039), yet a batch speaks every
  // line in one voice: each submission gets the given id plus a per-job, per-attempt suffix.
  // Turn off only for an upstream that accepts repeated ids.
  UNIQUE_VOICE_IDS: z.stringbool().default(true),
  // The API's address as RunningHub can reach it: every submit then carries a webhookUrl under
  // it (/callbacks/runninghub/<token>), and a callback makes the task's poll run at once.
  // Unset, voxline only polls.
  RUNNINGHUB_CALLBACK_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
});
