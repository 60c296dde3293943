import { z } from 'zod';
import { CLONE_STATUSES } from '../statuses.js';
import { isStorableString, refuseUnstorableStrings } from './fields.js';

/** Path, query and header schemas shared by routes. */

// Ids are checked by the handler, not here: a malformed id is just an id that does not exist
// (404), exactly like another tenant's.
export const idParams = z.object({ id: z.string().max(100) });

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const idempotencyHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .min(1, 'Idempotency-Key must not be empty')
    .max(255, 'Idempotency-Key must be at most 255 characters')
    .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be printable ASCII without spaces')
    .optional(),
});

export const limitQuery = z.coerce
  .number({ error: 'limit must be a number' })
  .int('limit must be an integer')
  .min(1, 'limit must be at least 1')
  .max(1_000, 'limit must be at most 1000')
  .default(100);

export const cursorQuery = z.string().min(1).max(200).optional();

/**
 * `since=` as an instant Postgres can compare with: an ISO 8601 date-time whose UTC value lies
 * in years 1..9999. A valid string can still fall outside (`0000-01-01T00:00:00Z`, or
 * `9999-12-31T23:59:59-23:59`, which is year 10000 in UTC), and Postgres refused those with a
 * 500 (found by chaos/test/hostile-input.test.ts).
 */
export const sinceQuery = z.iso
  .datetime({ offset: true, error: 'since must be an ISO 8601 date-time' })
  .transform((s) => new Date(s))
  .refine((d) => {
    const year = d.getUTCFullYear();
    return year >= 1 && year <= 9999;
  }, 'since must be between years 1 and 9999')
  .optional();

export const batchClonesQuery = z.strictObject({
  status: z
    .enum(CLONE_STATUSES, { error: `status must be one of ${CLONE_STATUSES.join(', ')}` })
    .optional(),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const deadLettersQuery = z.strictObject({
  batch_id: z.uuid('batch_id must be a uuid').optional(),
  error_code: z
    .string()
    .min(1)
    .max(64)
    .refine(isStorableString, 'error_code holds characters that cannot be stored')
    .optional(),
  since: sinceQuery,
  include_redriven: z
    .enum(['true', 'false'], { error: 'include_redriven must be true or false' })
    .transform((s) => s === 'true')
    .optional(),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const cloneAudioQuery = z.strictObject({
  redirect: z
    .enum(['true', 'false'], { error: 'redirect must be true or false' })
    .transform((s) => s === 'true')
    .default(false)
    .meta({ description: 'true with an S3 store: 302 to a presigned URL instead of the bytes' }),
});

export const redriveBody = z
  .strictObject(
    {
      ids: z
        .array(z.uuid('each id must be a uuid'), { error: 'ids must be an array of uuids' })
        .min(1, 'ids must not be empty')
        .max(1_000, 'ids holds at most 1000 ids')
        .optional(),
      batch_id: z.uuid('batch_id must be a uuid').optional(),
      error_code: z.string().min(1).max(64).optional(),
    },
    { error: 'body must be a JSON object' },
  )
  .superRefine(refuseUnstorableStrings)
  .superRefine((body, ctx) => {
    const given = [body.ids, body.batch_id, body.error_code].filter((v) => v !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of ids, batch_id or error_code',
      });
    }
  });
