import { z } from 'zod';
import { isLoopbackHost } from './hosts.js';
import { apiEnv } from './sections/api.js';
import { audioStoreEnv } from './sections/audio-store.js';
import { cliEnv } from './sections/cli.js';
import { coreEnv, DEFAULT_REDIS_URL } from './sections/core.js';
import { runninghubEnv } from './sections/runninghub.js';
import { simEnv } from './sections/sim.js';
import { tenantsEnv } from './sections/tenants.js';
import { voicesEnv } from './sections/voices.js';
import { webhooksEnv } from './sections/webhooks.js';
import { workerEnv } from './sections/worker.js';

const DEV_ADMIN_TOKEN = apiEnv.shape.ADMIN_TOKEN.parse(undefined);

export const envSchema = z
  .object({
    ...coreEnv.shape,
    ...apiEnv.shape,
    ...runninghubEnv.shape,
    ...workerEnv.shape,
    ...voicesEnv.shape,
    ...tenantsEnv.shape,
    ...webhooksEnv.shape,
    ...audioStoreEnv.shape,
    ...simEnv.shape,
    ...cliEnv.shape,
  })
  // `when`: cross-field rules run even when single fields failed, so one message names all.
  .superRefine(
    (env, ctx) => {
      if (env.ADMIN_TOKEN === DEV_ADMIN_TOKEN) {
        if (env.NODE_ENV === 'production') {
          ctx.addIssue({
            code: 'custom',
            path: ['ADMIN_TOKEN'],
            message: 'must be set in production',
          });
        } else if (typeof env.HOST === 'string' && !isLoopbackHost(env.HOST)) {
          // The default token is public: it may only guard a server nobody else can reach.
          ctx.addIssue({
            code: 'custom',
            path: ['ADMIN_TOKEN'],
            message: 'must be set when HOST is not a loopback address (the default is public)',
          });
        }
      }
      if (env.POLL_MIN_INTERVAL_MS > env.POLL_MAX_INTERVAL_MS) {
        ctx.addIssue({
          code: 'custom',
          path: ['POLL_MIN_INTERVAL_MS'],
          message: 'must not exceed POLL_MAX_INTERVAL_MS',
        });
      }
      if (env.RUNNINGHUB_BASE_URL && !env.RUNNINGHUB_API_KEY) {
        ctx.addIssue({
          code: 'custom',
          path: ['RUNNINGHUB_API_KEY'],
          message: 'is required when RUNNINGHUB_BASE_URL is set',
        });
      }
      if (env.RUNNINGHUB_API_KEY && !env.RUNNINGHUB_BASE_URL) {
        // Unset, the base URL is the simulator's address, in plain HTTP: a real key sent there
        // is a key leaked.
        ctx.addIssue({
          code: 'custom',
          path: ['RUNNINGHUB_BASE_URL'],
          message:
            'is required when RUNNINGHUB_API_KEY is set (unset, the key would go to the simulator over plain HTTP)',
        });
      }
      if (env.REDIS_CLUSTER_NODES && env.REDIS_URL !== DEFAULT_REDIS_URL) {
        // Two answers to "where is Redis": refuse rather than silently pick one.
        ctx.addIssue({
          code: 'custom',
          path: ['REDIS_CLUSTER_NODES'],
          message: 'cannot be set together with REDIS_URL (a cluster is named by its nodes alone)',
        });
      }
      if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
        // Node refuses a headers timeout longer than the whole request's.
        ctx.addIssue({
          code: 'custom',
          path: ['HTTP_HEADERS_TIMEOUT_MS'],
          message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS',
        });
      }
    },
    { when: () => true },
  );

export type Config = z.infer<typeof envSchema>;

/** Raised when the environment does not describe a runnable voxline; names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: Array<{ variable: string; message: string }>) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

// Empty strings mean "unset": docker-compose and shells often export VAR= for optional vars.
function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/**
 * Parses the environment once. Values never appear in the error, only variable names and
 * rules: a bad variable may well be a secret.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = envSchema.safeParse(withoutEmpty(env));
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path.join('.') || '(environment)',
      message: issue.message,
    })),
  );
}
