import { VOICE_FIELDS, voiceCloneParamsSchema, voiceOverrideShape } from '@voxline/runninghub';
import { z } from 'zod';

/**
 * What the CLI checks before sending anything: the voice-field rules of the upstream contract,
 * from `@voxline/runninghub` (the rules the API's request schemas are built from), plus
 * "text is not blank". Limits the API sets for itself (text length, ref length, lines per
 * batch, body size) are left to it: its 400 names the field (`lines.3.text`), which the CLI
 * maps back to the line of the file. A client that copied those limits would refuse lines a
 * server configured otherwise accepts.
 */

/** Fields a line of a CSV or NDJSON file may carry. */
export const LINE_FIELDS = ['text', 'ref', ...VOICE_FIELDS] as const;

export interface SchemaOptions {
  voiceIdMinLength: number;
}

function voiceRules(options: SchemaOptions) {
  return voiceCloneParamsSchema({ voiceIdMinLength: options.voiceIdMinLength }).shape;
}

/** A line of a batch: its text, an optional ref and any voice field it overrides. */
export function lineSchema(options: SchemaOptions) {
  return z.strictObject(
    {
      text: voiceRules(options).text,
      ref: z.string({ error: 'ref must be a string' }).min(1, 'ref must not be empty').optional(),
      ...voiceOverrideShape(options),
    },
    { error: 'a line must be a JSON object' },
  );
}
export type BatchLine = z.output<ReturnType<typeof lineSchema>>;

/**
 * The voice every line of a batch speaks with, from `--voice voice.json` and flags. Only the
 * fields given are sent: the API applies its defaults (model `speech-02-hd`, booleans false).
 */
export function voiceSchema(options: SchemaOptions) {
  const v = voiceRules(options);
  return z.strictObject(
    // The line-override rules, with the two fields a voice cannot do without made required
    // (assigning an existing key keeps its place, so fields are checked in the same order).
    { ...voiceOverrideShape(options), audio: v.audio, custom_voice_id: v.custom_voice_id },
    { error: 'the voice must be a JSON object' },
  );
}
export type Voice = z.output<ReturnType<typeof voiceSchema>>;

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** zod issues as `field: message` strings, one per issue; `input` is what was parsed. */
export function describeIssues(error: z.ZodError, input: unknown): string[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    }
    const path = issue.path.join('.');
    if (path && issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
      return `${path} is required`;
    }
    // zod's messages here already name the field ("accuracy must be a number").
    if (!path || issue.message.startsWith(path)) return issue.message;
    return `${path}: ${issue.message}`;
  });
}
