import { z } from 'zod';
import { BATCH_STATUSES, CLONE_STATUSES, TASK_KINDS, VOICE_STATUSES } from '../statuses.js';

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

// A speech line's request: the voice is the clone's `voice_id`, or `system_voice` here.
const speechRequest = z.object({
  model: z.string(),
  text: z.string(),
  system_voice: z.string().optional(),
  speed: z.number().optional(),
  volume: z.number().optional(),
  pitch: z.number().optional(),
  emotion: z.string().optional(),
  pronunciation_dict: z.array(z.string()).optional(),
  english_normalization: z.boolean().optional(),
});

/** What a task, a voice or a batch costs, in CNY: by the price list, and as upstream billed it. */
export const costResponse = z
  .object({
    estimated: z.number().meta({ description: 'by the configured price list' }),
    actual: z.number().nullable().meta({
      description: "upstream's usage.consumeMoney, summed; null while none was reported",
    }),
    currency: z.literal('CNY'),
  })
  .meta({ description: 'cost in CNY' });

const batchCostResponse = costResponse
  .extend({
    reused: z.number().int().meta({
      description: 'lines that reused audio already stored (no upstream call, cost 0)',
    }),
    saved: z.number().meta({ description: 'what the reused lines would have cost, in CNY' }),
  })
  .meta({ description: 'cost in CNY, and what reuse saved' });

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

// A clone's stored audio (also a voice's preview: the audio of its clone task).
const audioResponse = z.looseObject({
  url: z.string().meta({
    description:
      "voxline's copy (`GET /v1/clones/:id/audio`) once archived; upstream's link before",
  }),
  upstream_url: z.string().meta({ description: "upstream's link, which expires" }),
  type: z.string().nullable(),
  url_expires_at: z.string().nullable().meta({ description: "when upstream's link expires" }),
  usage: usageResponse,
  sha256: z.string().nullable().meta({ description: 'of the stored file (its ETag)' }),
  bytes: z.number().int().nullable(),
  format: z.string().nullable().meta({ description: 'read from the file: wav, mp3, …' }),
  duration_ms: z.number().int().nullable(),
  sample_rate: z.number().int().nullable(),
  channels: z.number().int().nullable(),
});

export const cloneResponse = z.looseObject({
  id: z.string(),
  object: z.literal('clone'),
  batch_id: z.string().nullable(),
  ref: z.string().nullable(),
  status: z.enum(CLONE_STATUSES),
  kind: z.enum(TASK_KINDS),
  voice_id: z.string().nullable().meta({
    description: 'the voice a speech line is spoken with, or the voice a voice_clone task clones',
  }),
  attempts: z.number().int(),
  run: z.number().int(),
  upstream_task_id: z.string().nullable(),
  // The clone shape first: a clone request also satisfies the looser speech shape.
  request: z.union([cloneRequest, speechRequest]),
  audio: audioResponse.nullable(),
  cost: costResponse.extend({
    saved: z.number().nullable().meta({
      description: 'for a line that reused stored audio: what it would have cost, in CNY',
    }),
  }),
  reused_from: z.string().nullable().meta({
    description: 'the clone whose stored audio this one reused (it made no upstream call)',
  }),
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
  voice_id: z.string().nullable().meta({ description: 'the voice the lines are spoken with' }),
  cost: batchCostResponse.meta({
    description:
      'its lines, plus the clone of the voice the batch created (if it did), and what reuse saved',
  }),
  max_cost: z.number().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
});

export const batchAcceptedResponse = z.object({
  id: z.string(),
  object: z.literal('batch'),
  status: z.enum(BATCH_STATUSES),
  total: z.number().int(),
  voice_id: z.string().nullable(),
  cost: batchCostResponse,
  created_at: z.string(),
});

export const batchCancelResponse = batchResponse.extend({ canceled: z.number().int() });

export const cloneListResponse = z.object({
  data: z.array(cloneResponse),
  next_cursor: z.string().nullable(),
});

export const voiceResponse = z.looseObject({
  id: z.string(),
  object: z.literal('voice'),
  name: z.string().nullable(),
  status: z.enum(VOICE_STATUSES),
  upstream_voice_id: z.string().nullable().meta({
    description:
      'the voice id upstream knows; changes when upstream forgot it and voxline cloned it again',
  }),
  reference: z.object({ kind: z.enum(['url', 'upload']), url: z.string().nullable() }),
  settings: z.object({
    model: z.string(),
    accuracy: z.number().optional(),
    need_noise_reduction: z.boolean(),
    need_volume_normalization: z.boolean(),
    language_boost: z.string().optional(),
  }),
  preview_text: z.string(),
  preview: audioResponse
    .nullable()
    .meta({ description: 'the voice speaking its preview text, once a clone succeeded' }),
  cost: costResponse.meta({ description: 'its clones' }),
  clones: z.number().int(),
  keep_alive: z.boolean(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
  ready_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable().meta({
    description: 'when upstream is expected to forget the voice (7 days after its last use)',
  }),
});

export const voiceListResponse = z.object({
  data: z.array(voiceResponse),
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
export type VoiceResponse = z.infer<typeof voiceResponse>;
export type DeadLetterResponse = z.infer<typeof deadLetterResponse>;
export type ApiKeyResponse = z.infer<typeof apiKeyResponse>;
