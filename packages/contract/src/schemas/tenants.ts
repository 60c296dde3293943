import { z } from 'zod';
import { refuseUnstorableStrings } from './fields.js';

/**
 * What an operator sets on a tenant: its name, its weight in the fair scheduler, its limits,
 * and optionally its own RunningHub key. The key is write-only: no answer ever carries it.
 */

const name = z
  .string({ error: 'name must be a string' })
  .trim()
  .min(1, 'name must not be empty')
  .max(200, 'name must be at most 200 characters');
const weight = z
  .number({ error: 'weight must be a number' })
  .int('weight must be an integer')
  .min(1, 'weight must be between 1 and 1000')
  .max(1_000, 'weight must be between 1 and 1000');
const requestsPerMinute = z
  .number({ error: 'requests_per_minute must be a number' })
  .int('requests_per_minute must be an integer')
  .min(1, 'requests_per_minute must be at least 1')
  .max(1_000_000, 'requests_per_minute must be at most 1000000');
const maxPendingLines = z
  .number({ error: 'max_pending_lines must be a number' })
  .int('max_pending_lines must be an integer')
  .min(1, 'max_pending_lines must be at least 1')
  .max(100_000_000, 'max_pending_lines must be at most 100000000');
const upstreamKey = z
  .string({ error: 'runninghub_api_key must be a string' })
  .min(8, 'runninghub_api_key must be at least 8 characters')
  .max(512, 'runninghub_api_key must be at most 512 characters')
  .regex(/^[\x21-\x7e]+$/, 'runninghub_api_key must be printable ASCII without spaces');
const maxInFlight = z
  .number({ error: 'runninghub_max_in_flight must be a number' })
  .int('runninghub_max_in_flight must be an integer')
  .min(1, 'runninghub_max_in_flight must be between 1 and 10000')
  .max(10_000, 'runninghub_max_in_flight must be between 1 and 10000');

/** Shared keys allow 1 to 3 tasks in flight (contract, "Errors"): the safe default. */
export const DEFAULT_TENANT_MAX_IN_FLIGHT = 3;

export const createTenantBody = z
  .strictObject(
    {
      name,
      weight: weight.optional(),
      requests_per_minute: requestsPerMinute.optional(),
      max_pending_lines: maxPendingLines.optional(),
      runninghub_api_key: upstreamKey.optional(),
      runninghub_max_in_flight: maxInFlight.optional(),
    },
    { error: 'body must be a JSON object' },
  )
  .superRefine(refuseUnstorableStrings)
  .superRefine((body, ctx) => {
    if (body.runninghub_max_in_flight !== undefined && body.runninghub_api_key === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['runninghub_max_in_flight'],
        message: "runninghub_max_in_flight is the limit of the tenant's own runninghub_api_key",
      });
    }
  });

/** `null` puts a setting back to the deployment's default (a key: back to the shared account). */
export const updateTenantBody = z
  .strictObject(
    {
      name: name.optional(),
      weight: weight.optional(),
      requests_per_minute: requestsPerMinute.nullable().optional(),
      max_pending_lines: maxPendingLines.nullable().optional(),
      runninghub_api_key: upstreamKey.nullable().optional(),
      runninghub_max_in_flight: maxInFlight.optional(),
    },
    { error: 'body must be a JSON object' },
  )
  .superRefine(refuseUnstorableStrings)
  .superRefine((body, ctx) => {
    if (Object.values(body).every((value) => value === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give at least one setting to change' });
    }
    if (body.runninghub_api_key === null && body.runninghub_max_in_flight !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['runninghub_max_in_flight'],
        message: 'runninghub_max_in_flight cannot be set while removing the key',
      });
    }
  });

export type CreateTenantBody = z.output<typeof createTenantBody>;
export type UpdateTenantBody = z.output<typeof updateTenantBody>;

export const tenantResponse = z.object({
  id: z.string(),
  object: z.literal('tenant'),
  name: z.string(),
  weight: z.number().int(),
  requests_per_minute: z.number().int().nullable().meta({
    description: "the tenant's own limit; null: TENANT_REQUESTS_PER_MINUTE",
  }),
  max_pending_lines: z.number().int().nullable().meta({
    description: "the tenant's own limit; null: TENANT_MAX_PENDING_LINES",
  }),
  upstream: z.object({
    account: z.enum(['shared', 'own']),
    max_in_flight: z.number().int().nullable().meta({
      description: "the own key's limit; null on the shared account",
    }),
  }),
  created_at: z.string(),
});

export const tenantCreatedResponse = tenantResponse.extend({
  tenant_id: z.string().meta({ description: 'the same as `id`' }),
  api_key: z.string(),
  webhook_secret: z.string(),
});
export type TenantCreatedResponse = z.infer<typeof tenantCreatedResponse>;
