import { SYSTEM_VOICES, speechSettingsShape } from '@voxline/runninghub';
import { z } from 'zod';

/**
 * Field rules shared by the request bodies: what the API itself bounds (text length, refs,
 * metadata) and the pieces of a speech line. Upstream's own rules come from
 * `@voxline/runninghub`, the contract's rules in one place.
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
export const NAME_MAX_CHARS = 200;

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

/** The fields every line has, whoever speaks it. */
export function lineFields(limits: RequestLimits) {
  return {
    text: z
      .string({ error: 'text must be a string' })
      .max(limits.textMaxChars, `text must be at most ${limits.textMaxChars} characters`)
      .refine((t) => t.trim().length > 0, 'text must not be empty'),
    ref: z
      .string({ error: 'ref must be a string' })
      .min(1, 'ref must not be empty')
      .max(REF_MAX_CHARS, `ref must be at most ${REF_MAX_CHARS} characters`)
      .optional(),
  };
}

/**
 * `reuse_audio`: true (the default) lets a line whose upstream request matches audio the
 * tenant already has stored succeed from that audio, at no cost; false always calls upstream.
 */
export const reuseAudioField = z
  .boolean({ error: 'reuse_audio must be a JSON boolean' })
  .optional()
  .meta({
    description:
      'false: call upstream even when identical audio is already stored (default true: reuse it, at no cost)',
  });

export function webhookUrlField() {
  return z
    .url({ protocol: /^https?$/, error: 'webhook_url must be an http(s) URL' })
    .max(URL_MAX_CHARS, `webhook_url must be at most ${URL_MAX_CHARS} characters`)
    .optional();
}

/** A voxline voice named by a request: one of the tenant's (`POST /v1/voices`). */
export const voiceIdField = z.uuid({ error: 'voice_id must be the id of a voice (a uuid)' });

export const systemVoiceField = z.enum(SYSTEM_VOICES, {
  error: `system_voice must be one of ${SYSTEM_VOICES.join(', ')}`,
});

/** `speech: {…}` of a batch or a batch line: the speech settings, each optional. */
export function speechObject(name: string) {
  return z.strictObject(speechSettingsShape(), { error: `${name} must be a JSON object` });
}

/**
 * A refinement that also runs when fields failed their own rules (zod skips refinements of an
 * object with invalid fields otherwise): a body with a bad `accuracy` that also mixes clone
 * and speech fields is told both at once. The value it sees may then hold raw input.
 */
export const ALWAYS = { when: () => true } as const;

/** What a refinement that runs on raw input can rely on: an object, or nothing to check. */
export function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export function given(record: Record<string, unknown>, key: string): boolean {
  return record[key] !== undefined;
}
