import { z } from 'zod';

/**
 * The parts of the API's answers the CLI reads (see apps/api/src/schemas/responses.ts; apps
 * do not import each other). Loose objects: a field the API adds later passes through to
 * `--json` output untouched. Statuses stay strings: `@voxline/db`, which defines them, is
 * loaded only by `start` (it brings the Postgres driver).
 */

const counts = z.object({
  queued: z.number(),
  submitting: z.number(),
  running: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  canceled: z.number(),
});
export type StatusCounts = z.infer<typeof counts>;

export const batchAccepted = z.looseObject({
  id: z.string(),
  status: z.string(),
  total: z.number(),
  created_at: z.string(),
});
export type BatchAccepted = z.infer<typeof batchAccepted>;

export const batch = z.looseObject({
  id: z.string(),
  status: z.string(),
  total: z.number(),
  counts,
  created_at: z.string(),
  completed_at: z.string().nullable(),
});
export type Batch = z.infer<typeof batch>;

export const batchCanceled = batch.extend({ canceled: z.number() });

export const clone = z.looseObject({
  id: z.string(),
  batch_id: z.string().nullable(),
  ref: z.string().nullable(),
  status: z.string(),
  audio: z.looseObject({ url: z.string() }).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type Clone = z.infer<typeof clone>;

export const cloneList = z.object({ data: z.array(clone), next_cursor: z.string().nullable() });

export const deadLetter = z.looseObject({
  id: z.string(),
  clone_id: z.string(),
  batch_id: z.string().nullable(),
  attempts: z.number(),
  error: z.object({ code: z.string(), message: z.string() }),
  created_at: z.string(),
  redriven_at: z.string().nullable(),
});
export type DeadLetter = z.infer<typeof deadLetter>;

export const deadLetterList = z.object({
  data: z.array(deadLetter),
  next_cursor: z.string().nullable(),
});

export const redriveResult = z.looseObject({
  redriven: z.number(),
  ids: z.array(z.string()),
  clone_ids: z.array(z.string()),
});

export const tenantCreated = z.object({
  tenant_id: z.string(),
  name: z.string(),
  api_key: z.string(),
  webhook_secret: z.string(),
});
export type TenantCreated = z.infer<typeof tenantCreated>;

export const apiKey = z.looseObject({
  id: z.string(),
  tenant_id: z.string(),
  prefix: z.string(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
});
export type ApiKey = z.infer<typeof apiKey>;

export const apiKeyList = z.object({ data: z.array(apiKey) });

export const apiKeyIssued = apiKey.extend({ api_key: z.string() });

export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }),
});

export function terminalCount(c: StatusCounts): number {
  return c.succeeded + c.failed + c.canceled;
}
