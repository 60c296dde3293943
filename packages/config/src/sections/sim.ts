import { z } from 'zod';

/** The RunningHub simulator (apps/runninghub-sim). */
export const simEnv = z.object({
  SIM_HOST: z.string().min(1).default('127.0.0.1'),
  SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  // Comma-separated keys; unset accepts any non-empty Bearer key.
  SIM_API_KEYS: z.string().optional(),
  SIM_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(3),
  SIM_CONTROL_TOKEN: z.string().min(8).default('voxline-sim-control'),
  SIM_SEED: z.coerce.number().int().default(1),
  // Task duration: base + per character, times a log-normal factor with this sigma.
  SIM_BASE_DURATION_MS: z.coerce.number().min(0).default(3_000),
  SIM_PER_CHAR_MS: z.coerce.number().min(0).default(40),
  SIM_DURATION_SIGMA: z.coerce.number().min(0).default(0.3),
  SIM_LINK_TTL_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(24 * 3_600_000),
  // The base of URLs the simulator hands out; defaults to its own listening address.
  SIM_PUBLIC_URL: z.url().optional(),
});
