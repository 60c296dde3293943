import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { voiceCloneParamsSchema } from '@voxline/runninghub';
import { z } from 'zod';
import type { ApiClient } from '../api/client.js';
import { describeIssues } from '../input/schema.js';
import { CliError } from '../output.js';

/** What `voxline voices create` sends: the reference (a URL or a local file) and settings. */
export interface VoiceInput {
  url?: string | undefined;
  file?: string | undefined;
  name?: string | undefined;
  model?: string | undefined;
  accuracy?: number | undefined;
  need_noise_reduction?: boolean | undefined;
  need_volume_normalization?: boolean | undefined;
  language_boost?: string | undefined;
  preview_text?: string | undefined;
  keep_alive?: boolean | undefined;
  metadata?: Record<string, unknown> | undefined;
}

// The contract's rules for the clone settings, so a typo is refused before a file is uploaded.
function settingsSchema() {
  const v = voiceCloneParamsSchema({ voiceIdMinLength: 1 }).shape;
  return z.strictObject({
    name: z.string().min(1, 'name must not be empty').optional(),
    model: v.model.unwrap().optional(),
    accuracy: v.accuracy,
    need_noise_reduction: v.need_noise_reduction.unwrap().optional(),
    need_volume_normalization: v.need_volume_normalization.unwrap().optional(),
    language_boost: v.language_boost,
    preview_text: z
      .string()
      .refine((t) => t.trim().length > 0, 'preview_text must not be empty')
      .optional(),
    keep_alive: z.boolean().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  });
}

const AUDIO_TYPES: Record<string, string> = { '.mp3': 'audio/mpeg', '.wav': 'audio/wav' };

/** The request body: JSON with `audio`, or multipart with `file` and the fields as text. */
export async function voiceBody(input: VoiceInput): Promise<Record<string, unknown> | FormData> {
  if ((input.url === undefined) === (input.file === undefined)) {
    throw new CliError(
      'invalid_option',
      'give the reference audio as --file PATH (a local MP3 or WAV) or --url URL, one of them',
    );
  }
  const { url, file, ...rest } = input;
  const fields = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const checked = settingsSchema().safeParse(fields);
  if (!checked.success) {
    throw new CliError(
      'invalid_option',
      'the voice is invalid',
      describeIssues(checked.error, fields),
    );
  }
  if (url !== undefined) {
    const audio = voiceCloneParamsSchema({ voiceIdMinLength: 1 }).shape.audio.safeParse(url);
    if (!audio.success) {
      throw new CliError('invalid_option', `--url: ${audio.error.issues[0]?.message ?? 'bad URL'}`);
    }
    return { audio: audio.data, ...checked.data };
  }
  const path = file as string;
  const type = AUDIO_TYPES[extname(path).toLowerCase()];
  if (!type) throw new CliError('invalid_option', `--file ${path}: must be an .mp3 or .wav file`);
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch (error) {
    throw new CliError('invalid_option', `cannot read ${path}: ${(error as Error).message}`);
  }
  const form = new FormData();
  for (const [key, value] of Object.entries(checked.data)) {
    form.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  // The file last: a server reading the parts in order has every field before the bytes.
  form.append('file', await openAsBlob(path, { type }), basename(path));
  return form;
}

/** Creates the voice; a fresh Idempotency-Key per call makes the client's retries safe. */
export async function createVoice(client: ApiClient, input: VoiceInput) {
  return client.createVoice(await voiceBody(input), `vxl-cli-voice-${randomUUID()}`);
}
