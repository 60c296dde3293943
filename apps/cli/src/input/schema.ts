import {
  SPEECH_SETTING_FIELDS,
  type SpeechSettings,
  SYSTEM_VOICES,
  speechModelSchema,
  speechSettingsShape,
  VOICE_FIELDS,
  voiceCloneParamsSchema,
  voiceOverrideShape,
} from '@voxline/runninghub';
import { z } from 'zod';

/**
 * What the CLI checks before sending anything: the voice and speech field rules of the upstream
 * contract, from `@voxline/runninghub` (the rules the API's request schemas are built from),
 * plus "text is not blank". Limits the API sets for itself (text length, ref length, lines per
 * batch, body size) are left to it: its 400 names the field (`lines.3.text`), which the CLI
 * maps back to the line of the file. A client that copied those limits would refuse lines a
 * server configured otherwise accepts.
 */

/**
 * How the lines of a file are spoken:
 * - `speech`: each line is a speech call with one voice (a voxline voice, a system voice, or an
 *   inline voice the API clones once for the batch); a line may change the speech model and
 *   settings.
 * - `per_line_clone`: each line is its own voice-clone call (`per_line_clone: true`), and a line
 *   may override any voice field, as before voices existed.
 */
export type LineMode = 'speech' | 'per_line_clone';

export interface SchemaOptions {
  voiceIdMinLength: number;
  mode: LineMode;
}

/** Fields a line of a CSV or NDJSON file may carry, by mode. */
export const LINE_FIELDS = {
  speech: ['text', 'ref', 'voice_id', 'system_voice', 'model', ...SPEECH_SETTING_FIELDS],
  per_line_clone: ['text', 'ref', ...VOICE_FIELDS],
} as const satisfies Record<LineMode, readonly string[]>;

function textRule(options: { voiceIdMinLength: number }) {
  return voiceCloneParamsSchema({ voiceIdMinLength: options.voiceIdMinLength }).shape.text;
}

const refRule = z
  .string({ error: 'ref must be a string' })
  .min(1, 'ref must not be empty')
  .optional();

export function systemVoiceSchema() {
  return z.enum(SYSTEM_VOICES, {
    error: `system_voice must be one of ${SYSTEM_VOICES.join(', ')}`,
  });
}

/** A line of a file: its text, an optional ref and what it overrides, flat as in the file. */
export function lineSchema(options: SchemaOptions) {
  if (options.mode === 'per_line_clone') {
    return z.strictObject(
      { text: textRule(options), ref: refRule, ...voiceOverrideShape(options) },
      { error: 'a line must be a JSON object' },
    );
  }
  return z.strictObject(
    {
      text: textRule(options),
      ref: refRule,
      voice_id: z
        .string({ error: 'voice_id must be a string' })
        .min(1, 'voice_id must not be empty')
        .optional(),
      system_voice: systemVoiceSchema().optional(),
      model: speechModelSchema().optional(),
      ...speechSettingsShape(),
    },
    { error: 'a line must be a JSON object' },
  );
}
export type FileLine = z.output<ReturnType<typeof lineSchema>>;

/** A line as the API takes it: speech settings go under `speech`, the rest stays flat. */
export interface BatchLine {
  text: string;
  ref?: string;
  [field: string]: unknown;
  speech?: SpeechSettings;
}

/** The API's shape of a checked file line. */
export function toBatchLine(record: FileLine): BatchLine {
  const line: BatchLine = { text: record.text };
  const speech: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || key === 'text') continue;
    if ((SPEECH_SETTING_FIELDS as readonly string[]).includes(key)) speech[key] = value;
    else line[key] = value;
  }
  if (Object.keys(speech).length > 0) line.speech = speech as SpeechSettings;
  return line;
}

/**
 * The voice the API clones for a batch (once, or once a line with `per_line_clone`), from
 * `--voice voice.json` and flags. Only the fields given are sent: the API applies its defaults
 * (model `speech-02-hd`, booleans false). A voice cloned once gets its upstream id from
 * voxline, so `custom_voice_id` is only required when every line is a clone.
 */
export function voiceSchema(options: { voiceIdMinLength: number; perLineClone: boolean }) {
  const v = voiceCloneParamsSchema({ voiceIdMinLength: options.voiceIdMinLength }).shape;
  const overrides = voiceOverrideShape(options);
  return z.strictObject(
    // The line-override rules, with the fields a voice cannot do without made required
    // (assigning an existing key keeps its place, so fields are checked in the same order).
    {
      ...overrides,
      audio: v.audio,
      custom_voice_id: options.perLineClone ? v.custom_voice_id : overrides.custom_voice_id,
    },
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
