import { voiceCloneParamsSchema, voiceOverrideShape } from '@voxline/runninghub';
import { z } from 'zod';

/**
 * Request bodies. Voice field rules come from `@voxline/runninghub` (the contract's rules in
 * one place); this file adds what the API itself bounds: text length, refs, metadata, lines.
 *
 * Unknown fields are refused (400, `unknown field` at their path), everywhere: a misspelt
 * `need_noise_reducton` silently ignored would clone with the wrong settings and cost money.
 */

export interface RequestLimits {
  voiceIdMinLength: number;
  textMaxChars: number;
  metadataMaxBytes: number;
  batchMaxLines: number;
}

// Deeper than this is no longer "a few tags of the caller's"; it also keeps the size check
// below (JSON.stringify, which recurses) far from the stack limit.
const METADATA_MAX_DEPTH = 16;
const REF_MAX_CHARS = 256;
const URL_MAX_CHARS = 2_048;

// Postgres cannot store NUL in text or jsonb, nor an unpaired surrogate in jsonb (JSON.stringify
// escapes it as \udXXX, which jsonb refuses): such strings are refused here with a 400, not
// discovered by the database as a 500.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableString(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/** Adds an issue for every string anywhere in `value` that Postgres could not store. */
export function refuseUnstorableStrings(value: unknown, ctx: z.RefinementCtx): void {
  const stack: Array<[unknown, PropertyKey[]]> = [[value, []]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, path] = item;
    if (typeof node === 'string') {
      if (!isStorableString(node)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'must not contain NUL characters or unpaired UTF-16 surrogates',
        });
      }
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (!isStorableString(key)) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: 'a key holds characters that cannot be stored',
          });
        }
        stack.push([child, [...path, Array.isArray(node) ? Number(key) : key]]);
      }
    }
  }
}

function depthWithin(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, depth] = item;
    if (depth > max) return false;
    if (node !== null && typeof node === 'object') {
      for (const child of Object.values(node)) stack.push([child, depth + 1]);
    }
  }
  return true;
}

export function metadataSchema(maxBytes: number) {
  return z
    .record(z.string(), z.unknown(), { error: 'metadata must be a JSON object' })
    .superRefine((value, ctx) => {
      if (!depthWithin(value, METADATA_MAX_DEPTH)) {
        ctx.addIssue({
          code: 'custom',
          message: `metadata must not nest deeper than ${METADATA_MAX_DEPTH} levels`,
        });
        return;
      }
      const bytes = Buffer.byteLength(JSON.stringify(value));
      if (bytes > maxBytes) {
        ctx.addIssue({
          code: 'custom',
          message: `metadata must be at most ${maxBytes} bytes as JSON (is ${bytes})`,
        });
      }
    });
}

export function buildRequestSchemas(limits: RequestLimits) {
  const voice = voiceCloneParamsSchema({ voiceIdMinLength: limits.voiceIdMinLength });
  const text = z
    .string({ error: 'text must be a string' })
    .max(limits.textMaxChars, `text must be at most ${limits.textMaxChars} characters`)
    .refine((t) => t.trim().length > 0, 'text must not be empty');
  const ref = z
    .string({ error: 'ref must be a string' })
    .min(1, 'ref must not be empty')
    .max(REF_MAX_CHARS, `ref must be at most ${REF_MAX_CHARS} characters`)
    .optional();
  const webhookUrl = z
    .url({ protocol: /^https?$/, error: 'webhook_url must be an http(s) URL' })
    .max(URL_MAX_CHARS, `webhook_url must be at most ${URL_MAX_CHARS} characters`)
    .optional();
  const metadata = metadataSchema(limits.metadataMaxBytes).optional();

  // The voice of a batch: every field of a clone but the text, defaults applied.
  const voiceFields = voice.omit({ text: true }).shape;
  const overrideFields = voiceOverrideShape({ voiceIdMinLength: limits.voiceIdMinLength });

  const createClone = z
    .strictObject(
      { ...voiceFields, text, ref, webhook_url: webhookUrl, metadata },
      { error: 'body must be a JSON object' },
    )
    .superRefine(refuseUnstorableStrings);
  const batchLine = z.strictObject(
    { text, ref, ...overrideFields },
    { error: 'a line must be a JSON object' },
  );
  const createBatch = z
    .strictObject(
      {
        voice: z.strictObject(voiceFields, { error: 'voice must be a JSON object' }),
        lines: z
          .array(batchLine, { error: 'lines must be an array' })
          .min(1, 'lines must hold at least one line')
          .max(limits.batchMaxLines, `a batch holds at most ${limits.batchMaxLines} lines`),
        webhook_url: webhookUrl,
        metadata,
      },
      { error: 'body must be a JSON object' },
    )
    .superRefine(refuseUnstorableStrings);
  return { createClone, createBatch };
}

export type CreateCloneBody = z.output<ReturnType<typeof buildRequestSchemas>['createClone']>;
export type CreateBatchBody = z.output<ReturnType<typeof buildRequestSchemas>['createBatch']>;
