import { createHash } from 'node:crypto';
import type { BatchLine, Voice } from '../input/schema.js';

/** The body of `POST /v1/batches`. */
export interface BatchBody {
  voice: Voice;
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
  voice: Voice;
  webhookUrl?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
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

/**
 * The Idempotency-Key of a batch: a digest of its position and its exact body (voice, lines,
 * webhook, metadata). Re-running the same command after a crash sends the same keys, and the
 * API answers batches it already has with the original (`200`, replayed) instead of creating
 * them twice. A changed line changes only the key of the batch that holds it; a changed voice
 * changes every key, since those are new requests.
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
  const frame: BatchBody = { voice: options.voice, lines: [] };
  if (options.webhookUrl !== undefined) frame.webhook_url = options.webhookUrl;
  if (options.metadata !== undefined) frame.metadata = options.metadata;
  const frameBytes = Buffer.byteLength(JSON.stringify(frame));

  let index = 0;
  let current: BatchLine[] = [];
  let fileLines: number[] = [];
  let bytes = frameBytes;
  const cut = (): PlannedBatch => {
    const body: BatchBody = { ...frame, lines: current };
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
