import { createHash } from 'node:crypto';
import type { SpeechModel, SpeechSettings, SystemVoice } from '@voxline/runninghub';
import type { BatchLine, LineMode, Voice } from '../input/schema.js';

/** Who speaks the lines of a batch unless a line says otherwise. */
export type Speaker =
  /** A voice of the tenant's (`POST /v1/voices`), by its id. */
  | { kind: 'voice'; voiceId: string }
  | { kind: 'system_voice'; name: SystemVoice }
  /** A voice the API clones once for the batch (or reuses, when the tenant has it already). */
  | { kind: 'inline'; voice: Voice }
  /** Today's one clone a line: `per_line_clone: true`. */
  | { kind: 'per_line_clone'; voice: Voice };

export function lineModeOf(speaker: Speaker): LineMode {
  return speaker.kind === 'per_line_clone' ? 'per_line_clone' : 'speech';
}

/** What speech lines are spoken with, unless a line says otherwise. */
export interface SpeechDefaults {
  model?: SpeechModel | undefined;
  speech?: SpeechSettings | undefined;
}

/** The body of `POST /v1/batches`. */
export interface BatchBody {
  voice?: Voice;
  voice_id?: string;
  system_voice?: SystemVoice;
  per_line_clone?: true;
  model?: SpeechModel;
  speech?: SpeechSettings;
  max_cost?: number;
  lines: BatchLine[];
  webhook_url?: string;
  metadata?: Record<string, unknown>;
}

export interface PlannedBatch {
  /** 0-based position of the batch in the file. */
  index: number;
  body: BatchBody;
  /** The file line each of `body.lines` came from, in the same order. */
  fileLines: number[];
  idempotencyKey: string;
}

export interface SplitOptions {
  speaker: Speaker;
  defaults?: SpeechDefaults | undefined;
  webhookUrl?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /**
   * The `max_cost` of the next batch, asked when it is cut (after the batch before it was
   * sent): what is left of the file's budget. Undefined: no budget.
   */
  maxCost?: (() => number) | undefined;
  /** Lines per batch: the API's BATCH_MAX_LINES (10,000) by default. */
  batchSize: number;
  /**
   * A batch is also cut before its JSON body would pass this many bytes: 10,000 long lines
   * exceed the API's BODY_LIMIT_BYTES (16 MiB by default), which refuses the body with a 413.
   */
  maxBodyBytes: number;
  /** Mixed into every key: the same file sent with another salt makes new batches. */
  salt?: string | undefined;
}

export const DEFAULT_BATCH_SIZE = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The fields of a batch body that say who speaks and how, from the speaker and defaults. */
export function speakerFields(
  speaker: Speaker,
  defaults: SpeechDefaults = {},
): Omit<BatchBody, 'lines'> {
  const fields: Omit<BatchBody, 'lines'> = {};
  if (speaker.kind === 'voice') fields.voice_id = speaker.voiceId;
  else if (speaker.kind === 'system_voice') fields.system_voice = speaker.name;
  else fields.voice = speaker.voice;
  if (speaker.kind === 'per_line_clone') {
    fields.per_line_clone = true;
    return fields;
  }
  if (defaults.model !== undefined) fields.model = defaults.model;
  if (defaults.speech !== undefined && Object.keys(defaults.speech).length > 0) {
    fields.speech = defaults.speech;
  }
  return fields;
}

/**
 * The Idempotency-Key of a batch: a digest of its position and its exact body (voice, lines,
 * webhook, metadata, budget). Re-running the same command after a crash sends the same keys,
 * and the API answers batches it already has with the original (`200`, replayed) instead of
 * creating them twice. A changed line changes only the key of the batch that holds it; a
 * changed voice changes every key, since those are new requests.
 */
export function idempotencyKey(body: BatchBody, index: number, salt = ''): string {
  const digest = createHash('sha256')
    .update(JSON.stringify({ v: 1, salt, index, body }))
    .digest('hex');
  return `vxl-cli-${index + 1}-${digest.slice(0, 40)}`;
}

/**
 * Groups checked lines into batches as they stream in: only the batch being filled is held
 * in memory. Cuts at `batchSize` lines or `maxBodyBytes`, whichever comes first.
 */
export async function* splitIntoBatches(
  lines: AsyncIterable<{ line: number; record: BatchLine }>,
  options: SplitOptions,
): AsyncGenerator<PlannedBatch> {
  const frame: BatchBody = { ...speakerFields(options.speaker, options.defaults), lines: [] };
  if (options.webhookUrl !== undefined) frame.webhook_url = options.webhookUrl;
  if (options.metadata !== undefined) frame.metadata = options.metadata;
  // Room for the largest budget's digits, so a body with its max_cost stays under the limit.
  const budgetBytes = options.maxCost ? 32 : 0;
  const frameBytes = Buffer.byteLength(JSON.stringify(frame)) + budgetBytes;

  let index = 0;
  let current: BatchLine[] = [];
  let fileLines: number[] = [];
  let bytes = frameBytes;
  const cut = (): PlannedBatch => {
    const body: BatchBody = { ...frame, lines: current };
    if (options.maxCost) body.max_cost = options.maxCost();
    const batch = {
      index,
      body,
      fileLines,
      idempotencyKey: idempotencyKey(body, index, options.salt),
    };
    index++;
    current = [];
    fileLines = [];
    bytes = frameBytes;
    return batch;
  };

  for await (const { line, record } of lines) {
    // +1 for the comma between lines.
    const size = Buffer.byteLength(JSON.stringify(record)) + 1;
    if (
      current.length > 0 &&
      (current.length >= options.batchSize || bytes + size > options.maxBodyBytes)
    ) {
      yield cut();
    }
    current.push(record);
    fileLines.push(line);
    bytes += size;
  }
  if (current.length > 0) yield cut();
}
