import { roundPrice } from '@voxline/runninghub';
import { type ApiClient, ApiError } from '../api/client.js';
import { type InputFormat, type LineSchema, readItems } from '../input/read.js';
import { type BatchLine, toBatchLine } from '../input/schema.js';
import { CliError } from '../output.js';
import { type PlannedBatch, type SplitOptions, splitIntoBatches } from './batches.js';

export interface FileCheck {
  lines: number;
  /** The first problems found, each with its line. */
  problems: Array<{ line: number; error: string }>;
  problemCount: number;
}

// Enough to see the pattern of a bad file without scrolling through thousands of lines.
const MAX_PROBLEMS_SHOWN = 20;

/**
 * The first pass over a file: every line is checked and counted, nothing is sent. A file with
 * a bad line is refused whole, before any batch exists, rather than half enqueued.
 */
export async function checkFile(
  file: string,
  format: InputFormat,
  schema: LineSchema,
): Promise<FileCheck> {
  const result: FileCheck = { lines: 0, problems: [], problemCount: 0 };
  for await (const item of readItems(file, format, schema)) {
    if ('error' in item) {
      result.problemCount++;
      if (result.problems.length < MAX_PROBLEMS_SHOWN) {
        result.problems.push({ line: item.line, error: item.error });
      }
      if (item.fatal) break;
    } else {
      result.lines++;
    }
  }
  return result;
}

export interface SentBatch {
  id: string;
  /** What the API estimates the batch to cost (`cost.estimated`). */
  estimatedCost: number;
  index: number;
  lines: number;
  firstLine: number;
  lastLine: number;
  idempotencyKey: string;
  /** The API already had this batch (a re-run): nothing new was created. */
  replayed: boolean;
  fileLines: number[];
}

async function* validLines(
  file: string,
  format: InputFormat,
  schema: LineSchema,
): AsyncGenerator<{ line: number; record: BatchLine }> {
  for await (const item of readItems(file, format, schema)) {
    // The file changed since it was checked: stop rather than send a different file.
    if ('error' in item) {
      throw new CliError(
        'invalid_file',
        `${file} changed while it was sent: line ${item.line}: ${item.error}`,
      );
    }
    yield { line: item.line, record: toBatchLine(item.record) };
  }
}

/** Names the file line behind each `lines.N…` path of a 400 from the API. */
export function mapLineErrors(error: ApiError, batch: PlannedBatch): string[] {
  if (!Array.isArray(error.details)) return [];
  return error.details.map((d: unknown) => {
    const { path, message } = (d ?? {}) as { path?: unknown; message?: unknown };
    const p = typeof path === 'string' ? path : '';
    const match = /^lines\.(\d+)(?:\.(.+))?$/.exec(p);
    const fileLine = match ? batch.fileLines[Number(match[1])] : undefined;
    if (fileLine !== undefined) {
      const field = match?.[2];
      // The API's messages mostly start with the field's name already.
      const named = !field || String(message).startsWith(field);
      return `line ${fileLine}: ${named ? '' : `${field}: `}${String(message)}`;
    }
    return p ? `${p}: ${String(message)}` : String(message);
  });
}

/**
 * The second pass: streams the file again, cuts it into batches and sends each with its
 * Idempotency-Key, one at a time (only one batch is ever in memory). `onBatch` hears of each.
 * With a budget (`maxCost`, the whole file's), each batch is sent with what is left of it as its
 * `max_cost`: the API refuses (422 `budget_exceeded`, nothing written) a batch whose estimate
 * is over that, so the file never passes the budget (the batches before a refused one stay).
 */
export async function sendFile(
  client: ApiClient,
  options: Omit<SplitOptions, 'maxCost'> & {
    file: string;
    format: InputFormat;
    schema: LineSchema;
    maxCost?: number | undefined;
    signal?: AbortSignal;
    onBatch?: (batch: SentBatch) => void;
  },
): Promise<SentBatch[]> {
  const sent: SentBatch[] = [];
  const budget = options.maxCost;
  const remaining =
    budget === undefined
      ? undefined
      : () => roundPrice(budget - sent.reduce((sum, b) => sum + b.estimatedCost, 0));
  const batches = splitIntoBatches(validLines(options.file, options.format, options.schema), {
    ...options,
    maxCost: remaining,
  });
  for await (const planned of batches) {
    const where = `batch ${planned.index + 1} (lines ${planned.fileLines[0]}-${planned.fileLines.at(-1)} of ${options.file})`;
    const before =
      sent.length > 0
        ? `; the ${sent.length} batch${sent.length > 1 ? 'es' : ''} before it ${sent.length > 1 ? 'were' : 'was'} accepted and keep running (running the same command again does not send ${sent.length > 1 ? 'them' : 'it'} twice)`
        : '';
    if (planned.body.max_cost !== undefined && planned.body.max_cost <= 0) {
      throw new CliError(
        'budget_exceeded',
        `${where} was not sent: the batches before it are estimated at the whole --max-cost ${budget}${before}`,
      );
    }
    let accepted: Awaited<ReturnType<ApiClient['createBatch']>>;
    try {
      accepted = await client.createBatch(planned.body, planned.idempotencyKey, options.signal);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const details = mapLineErrors(error, planned);
      throw new ApiError(
        error.status,
        error.code,
        `${where} was refused: ${error.message}${before}`,
        details.length > 0 ? details : error.details,
      );
    }
    const batch: SentBatch = {
      id: accepted.batch.id,
      estimatedCost: accepted.batch.cost.estimated,
      index: planned.index,
      lines: planned.body.lines.length,
      firstLine: planned.fileLines[0] ?? 0,
      lastLine: planned.fileLines.at(-1) ?? 0,
      idempotencyKey: planned.idempotencyKey,
      replayed: accepted.replayed,
      fileLines: planned.fileLines,
    };
    sent.push(batch);
    options.onBatch?.(batch);
  }
  return sent;
}
