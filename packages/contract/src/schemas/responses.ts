import { z } from 'zod';
import { BATCH_STATUSES, CLONE_STATUSES } from '../statuses.js';

/**
 * Response shapes, for serialization and the OpenAPI document (`/docs`). Loose objects: the
 * mappers in ../resources are the source of truth, and a field added there must not be dropped
 * here silently.
 */

export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown(),
  }),
});

// Plain objects where the mapper's type is an interface (interfaces have no index signature).
const cloneRequest = z.object({
  audio: z.string(),
  custom_voice_id: z.string(),
  text: z.string(),
  accuracy: z.number().optional(),
  need_noise_reduction: z.boolean(),
  need_volume_normalization: z.boolean(),
  model: z.string(),
  language_boost: z.string().optional(),
});

// Upstream leaves usage fields out, sends null, or numbers as strings or as numbers: every
// field is always present, as upstream's text or null (`usageResource`). The routes'
// typed replies make the view and this schema agree at compile time.
const usageField = (description: string) =>
  z
    .string()
    .nullable()
    .meta({
      description: `${description}, as upstream reported it (a number as its decimal string); null when it did not`,
    });

const usageResponse = z
  .object({
    consumeMoney: usageField('what the task cost, in CNY (e.g. "3.12")'),
    consumeCoins: usageField('what the task cost, in RunningHub coins'),
    taskCostTime: usageField('how long the task ran upstream, in seconds'),
    thirdPartyConsumeMoney: usageField('the third-party (model) charge, in CNY'),
  })
  .nullable()
  .meta({ description: 'upstream usage and cost; null when upstream reported none' });

export const cloneResponse = z.looseObject({
  id: z.string(),
  object: z.literal('clone'),
  batch_id: z.string().nullable(),
  ref: z.string().nullable(),
  status: z.enum(CLONE_STATUSES),
  attempts: z.number().int(),
  run: z.number().int(),
  upstream_task_id: z.string().nullable(),
  request: cloneRequest,
  audio: z
    .looseObject({
      url: z.string(),
      type: z.string().nullable(),
      url_expires_at: z.string().nullable(),
      usage: usageResponse,
    })
    .nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
});

const counts = z.object(
  Object.fromEntries(CLONE_STATUSES.map((s) => [s, z.number().int()])) as Record<
    (typeof CLONE_STATUSES)[number],
    z.ZodNumber
  >,
);

export const batchResponse = z.looseObject({
  id: z.string(),
  object: z.literal('batch'),
  status: z.enum(BATCH_STATUSES),
  total: z.number().int(),
  counts,
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});

export const batchAcceptedResponse = z.object({
  id: z.string(),
  object: z.literal('batch'),
  status: z.enum(BATCH_STATUSES),
  total: z.number().int(),
  created_at: z.string(),
});

export const batchCancelResponse = batchResponse.extend({ canceled: z.number().int() });

export const cloneListResponse = z.object({
  data: z.array(cloneResponse),
  next_cursor: z.string().nullable(),
});

export const deadLetterResponse = z.object({
  id: z.string(),
  object: z.literal('dead_letter'),
  clone_id: z.string(),
  batch_id: z.string().nullable(),
  source_queue: z.string(),
  bull_job_id: z.string(),
  run: z.number().int(),
  attempts: z.number().int(),
  error: z.object({ code: z.string(), message: z.string() }),
  last_response: z.unknown(),
  created_at: z.string(),
  redriven_at: z.string().nullable(),
});

export const deadLetterListResponse = z.object({
  data: z.array(deadLetterResponse),
  next_cursor: z.string().nullable(),
});

export const redriveResponse = z.object({
  redriven: z.number().int(),
  ids: z.array(z.string()),
  clone_ids: z.array(z.string()),
});

export const tenantCreatedResponse = z.object({
  tenant_id: z.string(),
  name: z.string(),
  api_key: z.string(),
  webhook_secret: z.string(),
});

/** An API key as listed: its id, prefix and dates, never the key or its hash. */
export const apiKeyResponse = z.object({
  id: z.string(),
  tenant_id: z.string(),
  prefix: z.string(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
});

export const apiKeyListResponse = z.object({ data: z.array(apiKeyResponse) });

/** A key just issued: the only answer that carries the key itself. */
export const apiKeyIssuedResponse = apiKeyResponse.extend({ api_key: z.string() });

/** The error answers every authenticated route may give. */
export const commonErrors = {
  400: errorResponse,
  401: errorResponse,
  404: errorResponse,
  503: errorResponse,
} as const;

/** The answers as a client reads them (the CLI parses every answer with these schemas). */
export type CloneResponse = z.infer<typeof cloneResponse>;
export type BatchResponse = z.infer<typeof batchResponse>;
export type BatchAcceptedResponse = z.infer<typeof batchAcceptedResponse>;
export type DeadLetterResponse = z.infer<typeof deadLetterResponse>;
export type ApiKeyResponse = z.infer<typeof apiKeyResponse>;
export type TenantCreatedResponse = z.infer<typeof tenantCreatedResponse>;
